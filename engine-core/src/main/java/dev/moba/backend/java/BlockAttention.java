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
 * <p>For each block and each tile of up to {@link Scratch#TILE_ROWS} query rows that read it: gather the rows,
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
            int lo = lowerBound(rows, tokenFrom * qHeads);
            int hi = lowerBound(rows, tokenTo * qHeads);
            if (lo == hi) {
                continue;
            }
            BlockView block = view(cache, task.block(), kvHead);
            for (int start = lo; start < hi; start += Scratch.TILE_ROWS) {
                int count = Math.min(Scratch.TILE_ROWS, hi - start);
                tile(plan, cache, block, task, start, count, states);
            }
        }
    }

    private void tile(AttendPlan plan, HostKvCache cache, BlockView block, BlockTask task, int start, int count,
                      RowStates states) {
        int qHeads = plan.layout().qHeads();
        int dim = plan.layout().headDim();
        int[] rows = task.rows();
        int blockStart = task.block() * cache.spec().blockSize();
        // Whole register tiles only: the kernel's single-row fallback runs several times slower per row than the
        // few zero rows that pad the last tile.
        int padded = (count + MatMul.TILE_ROWS - 1) / MatMul.TILE_ROWS * MatMul.TILE_ROWS;
        float[] queries = scratch.queries;
        gather(plan.queries(), rows, start, count, dim, queries);
        Arrays.fill(queries, count * dim, padded * dim, 0f);

        int keys = task.causal()
                ? plan.firstPosition() + rows[start + count - 1] / qHeads - blockStart + 1
                : cache.spec().blockSize();
        int cols = HostLayout.padColumns(keys);
        int lds = cache.paddedBlock();
        float[] scores = scratch.scores;
        MatMul.multiply(queries, dim, padded, dim, block.segment, block.keysOffset, cache.paddedBlock(), cols,
                scores, lds);

        for (int i = 0; i < count; i++) {
            int limit = task.causal() ? plan.firstPosition() + rows[start + i] / qHeads - blockStart + 1 : keys;
            softmaxRow(scores, i * lds, limit, cols, plan.scale(), i);
        }
        int ldo = HostLayout.padColumns(dim);
        float[] outputs = scratch.outputs;
        MatMul.multiply(scores, lds, padded, cols, block.segment, block.valuesOffset, cache.paddedDim(), ldo,
                outputs, ldo);
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
        FloatVector maxVector = FloatVector.broadcast(MatMul.SPECIES, Float.NEGATIVE_INFINITY);
        for (int c = 0; c < cols; c += MatMul.LANES) {
            maxVector = maxVector.max(FloatVector.fromArray(MatMul.SPECIES, scores, offset + c));
        }
        float max = maxVector.reduceLanes(VectorOperators.MAX);
        FloatVector sumVector = FloatVector.zero(MatMul.SPECIES);
        for (int c = 0; c < cols; c += MatMul.LANES) {
            FloatVector p = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c)
                    .sub(max).mul(scale).lanewise(VectorOperators.EXP);
            p.intoArray(scores, offset + c);
            sumVector = sumVector.add(p);
        }
        scratch.rowMax[tileRow] = max * scale;
        scratch.rowSum[tileRow] = sumVector.reduceLanes(VectorOperators.ADD);
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

    /** The block's keys and values for one kv head, decoded to fp32 when stored narrower. */
    private BlockView view(HostKvCache cache, int b, int kvHead) {
        MemorySegment stored = cache.block(b);
        DType dtype = cache.spec().dtype();
        if (dtype == DType.FP32) {
            return new BlockView(stored, cache.keysOffset(kvHead), cache.valuesOffset(kvHead));
        }
        long keyElems = (long) cache.spec().headDim() * cache.paddedBlock();
        long valueElems = (long) cache.paddedBlock() * cache.paddedDim();
        MemorySegment decoded = scratch.decodeBuffer((keyElems + valueElems) * Float.BYTES);
        long keyBase = cache.keysOffset(kvHead) / dtype.bytes();
        long valueBase = cache.valuesOffset(kvHead) / dtype.bytes();
        for (long i = 0; i < keyElems; i++) {
            decoded.setAtIndex(F32, i, dtype.get(stored, keyBase + i));
        }
        for (long i = 0; i < valueElems; i++) {
            decoded.setAtIndex(F32, keyElems + i, dtype.get(stored, valueBase + i));
        }
        return new BlockView(decoded, 0, keyElems * Float.BYTES);
    }

    static int lowerBound(int[] sorted, int key) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < key) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private record BlockView(MemorySegment segment, long keysOffset, long valuesOffset) {}
}
