package dev.moba.backend.java;

import dev.moba.kv.HostKvCache;
import dev.moba.kv.HostLayout;
import dev.moba.merge.RowStates;
import dev.moba.plan.AttendPlan;
import dev.moba.plan.BlockTask;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Runs the block tasks of one kv head of a plan, for the query tokens in a given range, on one thread.
 *
 * <p>For each block: pack the keys and values the range's rows read ({@link PackedMatrix}), unless they are fewer
 * than a register tile; then for each tile of up to {@link Scratch#TILE_ROWS} query rows that read it: gather the
 * rows,
 * compute their scores against the block's keys ({@link MatMul}), mask keys past each row's position
 * in a causal block, exponentiate against the row maximum, multiply by the block's values ({@link MatMul}) and fold
 * the result into the rows' running softmax state. The work is {@code 4 * headDim} flops per query-key pair on
 * whole tiles of 16 keys.
 */
final class BlockAttention {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final Scratch scratch;

    BlockAttention(Scratch scratch) {
        this.scratch = scratch;
    }

    /** Processes the rows of tokens {@code [tokenFrom, tokenTo)} of kv head {@code kvHead}. */
    void run(AttendPlan plan, HostKvCache cache, int kvHead, int tokenFrom, int tokenTo, RowStates states) {
        int qHeads = plan.layout().qHeads();
        int dim = plan.layout().headDim();
        scratch.ensure(dim, cache.paddedBlock(), cache.paddedDim());
        for (BlockTask task : plan.tasksByKvHead().get(kvHead)) {
            int[] rows = task.rows();
            int lo = task.rowsFrom(tokenFrom * qHeads);
            int hi = task.rowsFrom(tokenTo * qHeads);
            if (lo == hi) {
                continue;
            }
            // Rows too few for one register tile (a decode step's) read the block where it lies; others pack it.
            boolean packed = hi - lo >= MatMul.TILE_ROWS || cache.spec().dtype() != DType.FP32;
            if (packed) {
                pack(cache, task.block(), kvHead, HostLayout.padColumns(keys(plan, cache, task, rows[hi - 1])));
            }
            for (int start = lo; start < hi; start += Scratch.TILE_ROWS) {
                int count = Math.min(Scratch.TILE_ROWS, hi - start);
                tile(plan, cache, task, kvHead, start, count, packed, states);
            }
        }
    }

    /** Keys of the task's block that query row {@code row} sees: all of them, or its causal prefix. */
    private static int keys(AttendPlan plan, HostKvCache cache, BlockTask task, int row) {
        int blockSize = cache.spec().blockSize();
        return task.causal()
                ? plan.firstPosition() + row / plan.layout().qHeads() - task.block() * blockSize + 1
                : blockSize;
    }

    private void tile(AttendPlan plan, HostKvCache cache, BlockTask task, int kvHead, int start, int count,
                      boolean packed, RowStates states) {
        int dim = plan.layout().headDim();
        int[] rows = task.rows();
        // Whole register tiles only: the kernel's single-row fallback runs several times slower per row than the
        // few zero rows that pad the last tile.
        int padded = (count + MatMul.TILE_ROWS - 1) / MatMul.TILE_ROWS * MatMul.TILE_ROWS;
        float[] queries = scratch.queries;
        gather(plan.queries(), rows, start, count, dim, queries);
        Arrays.fill(queries, count * dim, padded * dim, 0f);

        int keys = keys(plan, cache, task, rows[start + count - 1]);
        int cols = HostLayout.padColumns(keys);
        int lds = cache.paddedBlock();
        float[] scores = scratch.scores;
        MemorySegment block = cache.block(task.block());
        if (packed) {
            MatMul.multiply(queries, dim, padded, dim, scratch.keys, cols, scores, lds);
        } else {
            MatMul.multiplyFew(queries, dim, count, dim, block, cache.keysOffset(kvHead), cache.paddedBlock(), cols,
                    scores, lds);
        }

        for (int i = 0; i < count; i++) {
            int limit = task.causal() ? keys(plan, cache, task, rows[start + i]) : keys;
            softmaxRow(scores, i * lds, limit, cols, plan.scale(), i);
        }
        int ldo = HostLayout.padColumns(dim);
        float[] outputs = scratch.outputs;
        if (packed) {
            MatMul.multiply(scores, lds, padded, cols, scratch.values, ldo, outputs, ldo);
        } else {
            MatMul.multiplyFew(scores, lds, count, cols, block, cache.valuesOffset(kvHead), cache.paddedDim(), ldo,
                    outputs, ldo);
        }
        for (int i = 0; i < count; i++) {
            states.add(rows[start + i], scratch.rowMax[i], scratch.rowSum[i], outputs, i * ldo);
        }
    }

    /**
     * Replaces scores[offset, offset+cols) by {@code exp(scale * (score - max))} over the first {@code limit}, 0
     * after, and records the row's scaled maximum and sum.
     */
    private void softmaxRow(float[] scores, int offset, int limit, int cols, float scale, int tileRow) {
        if (limit < cols) {
            Arrays.fill(scores, offset + limit, offset + cols, Float.NEGATIVE_INFINITY);
        }
        float max = rowMax(scores, offset, cols) * scale;
        // exp(scale * score - max): one fused multiply-add per vector before the exponential.
        FloatVector factor = FloatVector.broadcast(MatMul.SPECIES, scale);
        FloatVector shift = FloatVector.broadcast(MatMul.SPECIES, -max);
        FloatVector sumVector = FloatVector.zero(MatMul.SPECIES);
        for (int c = 0; c < cols; c += MatMul.LANES) {
            FloatVector p = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c)
                    .fma(factor, shift).lanewise(VectorOperators.EXP);
            p.intoArray(scores, offset + c);
            sumVector = sumVector.add(p);
        }
        scratch.rowMax[tileRow] = max;
        scratch.rowSum[tileRow] = sumVector.reduceLanes(VectorOperators.ADD);
    }

    /**
     * The largest of {@code scores[offset, offset + cols)}, {@code cols} a multiple of {@link MatMul#LANES}. A compare
     * and a blend per vector, on two accumulators: {@link FloatVector#max} keeps Java's rules for NaN and -0.0,
     * which cost several instructions per vector, and this pass ran a third of the softmax's time with it.
     */
    private static float rowMax(float[] scores, int offset, int cols) {
        FloatVector even = FloatVector.broadcast(MatMul.SPECIES, Float.NEGATIVE_INFINITY);
        FloatVector odd = even;
        int c = 0;
        for (; c + 2 * MatMul.LANES <= cols; c += 2 * MatMul.LANES) {
            FloatVector v = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c);
            even = even.blend(v, even.lt(v));
            FloatVector w = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c + MatMul.LANES);
            odd = odd.blend(w, odd.lt(w));
        }
        if (c < cols) {
            FloatVector v = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c);
            even = even.blend(v, even.lt(v));
        }
        return even.blend(odd, even.lt(odd)).reduceLanes(VectorOperators.MAX);
    }

    /** Copies query rows into a tile; runs of consecutive rows (a token's heads of one group) go in one copy. */
    private static void gather(Tensor queries, int[] rows, int start, int count, int dim, float[] out) {
        MemorySegment q = queries.segment();
        int i = 0;
        while (i < count) {
            int first = rows[start + i];
            int run = 1;
            while (i + run < count && rows[start + i + run] == first + run) {
                run++;
            }
            MemorySegment.copy(q, F32, (long) first * dim * Float.BYTES, out, i * dim, run * dim);
            i += run;
        }
    }

    /**
     * Packs the first {@code cols} keys of block {@code b}, kv head {@code kvHead}, and their values, widened to
     * fp32, into the scratch's matrices: {@code K^T [headDim][cols]} and {@code V [cols][headDim]}.
     */
    private void pack(HostKvCache cache, int b, int kvHead, int cols) {
        MemorySegment stored = cache.block(b);
        DType dtype = cache.spec().dtype();
        int dim = cache.spec().headDim();
        scratch.keys.pack(stored, cache.keysOffset(kvHead) / dtype.bytes(), cache.paddedBlock(), dim, cols, dtype);
        scratch.values.pack(stored, cache.valuesOffset(kvHead) / dtype.bytes(), cache.paddedDim(), cols,
                HostLayout.padColumns(dim), dtype);
    }
}
