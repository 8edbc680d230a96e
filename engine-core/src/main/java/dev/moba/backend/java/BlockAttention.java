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
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Runs the block tasks of one kv head of a plan, for the query tokens in a given range, on one thread.
 *
 * <p>For each block: read its keys and values where they lie when the cache keeps fp32 blocks in the kernel's
 * panels (the Java backend's caches do), else pack the part the range's rows read ({@link PackedMatrix}), unless
 * they are fewer than a register tile; then for each tile of up to {@link Scratch#TILE_ROWS} query rows that read
 * it: gather the rows, compute their scores against the block's keys ({@link MatMul}), mask keys past each row's
 * position in a causal block, exponentiate against the row maximum, multiply by the block's values ({@link MatMul})
 * and fold the result into the rows' running softmax state. The work is {@code 4 * headDim} flops per query-key pair
 * on whole tiles of 16 keys.
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
        scratch.ensure(dim, scoreStride(cache), cache.paddedDim());
        boolean inPlace = cache.panel() == MatMul.PANEL && cache.spec().dtype() == DType.FP32;
        List<BlockTask> tasks = plan.tasksByKvHead().get(kvHead);
        boolean causalLast = causalTasksLast(tasks);
        for (BlockTask task : tasks) {
            int[] rows = task.rows();
            int lo = task.rowsFrom(tokenFrom * qHeads);
            int hi = task.rowsFrom(tokenTo * qHeads);
            if (lo == hi) {
                continue;
            }
            PackedMatrix keys = null;
            PackedMatrix values = null;
            if (inPlace) {
                keys = view(cache, task.block(), cache.keysOffset(kvHead), dim, cache.paddedBlock());
                values = view(cache, task.block(), cache.valuesOffset(kvHead), cache.paddedBlock(), cache.paddedDim());
            } else if (hi - lo >= MatMul.TILE_ROWS || cache.spec().dtype() != DType.FP32) {
                // Rows too few for one register tile (a decode step's) read a row-major fp32 block where it lies.
                pack(cache, task.block(), kvHead, HostLayout.padColumns(keys(plan, cache, task, rows[hi - 1])));
                keys = scratch.keys;
                values = scratch.values;
            }
            for (int start = lo; start < hi; start += Scratch.TILE_ROWS) {
                int count = Math.min(Scratch.TILE_ROWS, hi - start);
                tile(plan, cache, task, kvHead, start, count, keys, values, causalLast && task.causal(), states);
            }
        }
    }

    /**
     * Whether no history task follows a causal one, as the planner lists them: each row then ends with its causal
     * task, whose fold can normalise the row at once ({@link RowStates#addLast}), where a separate pass over every
     * row's output would follow.
     */
    private static boolean causalTasksLast(List<BlockTask> tasks) {
        boolean causalSeen = false;
        for (BlockTask task : tasks) {
            if (causalSeen && !task.causal()) {
                return false;
            }
            causalSeen |= task.causal();
        }
        return true;
    }

    /** Row stride of the score tile: an odd number of 64-byte lines, as {@link HostLayout#padStride} says why. */
    private static int scoreStride(HostKvCache cache) {
        return HostLayout.padStride(cache.spec().blockSize());
    }

    /** A kv head's keys or values of block {@code b} of a cache in the kernel's panels, where they lie. */
    private static PackedMatrix view(HostKvCache cache, int b, long offset, int rows, int cols) {
        return PackedMatrix.over(cache.block(b).asSlice(offset, (long) rows * cols * Float.BYTES), rows, cols);
    }

    /** Keys of the task's block that query row {@code row} sees: all of them, or its causal prefix. */
    private static int keys(AttendPlan plan, HostKvCache cache, BlockTask task, int row) {
        int blockSize = cache.spec().blockSize();
        return task.causal()
                ? plan.firstPosition() + row / plan.layout().qHeads() - task.block() * blockSize + 1
                : blockSize;
    }

    /**
     * One tile of rows against the block: with {@code keys} and {@code values} in panels, or {@code null} to read a
     * row-major fp32 block where it lies; {@code last} when this is each of the rows' last fold.
     */
    private void tile(AttendPlan plan, HostKvCache cache, BlockTask task, int kvHead, int start, int count,
                      PackedMatrix keys, PackedMatrix values, boolean last, RowStates states) {
        int dim = plan.layout().headDim();
        int[] rows = task.rows();
        // Whole register tiles: the kernel runs rows past the last whole tile one at a time, slower than the few
        // zero rows that pad them to a tile. Fewer rows than one tile (a decode step's) run as they are.
        int padded = count < MatMul.TILE_ROWS ? count
                : (count + MatMul.TILE_ROWS - 1) / MatMul.TILE_ROWS * MatMul.TILE_ROWS;
        float[] queries = scratch.queries;
        gather(plan.queries(), rows, start, count, dim, queries);
        Arrays.fill(queries, count * dim, padded * dim, 0f);

        int seen = keys(plan, cache, task, rows[start + count - 1]);
        int cols = HostLayout.padColumns(seen);
        int lds = scoreStride(cache);
        float[] scores = scratch.scores;
        MemorySegment block = cache.block(task.block());
        if (keys != null) {
            MatMul.multiply(queries, dim, padded, dim, keys, cols, scores, lds);
        } else {
            MatMul.multiplyFew(queries, dim, count, dim, block, cache.keysOffset(kvHead), cache.paddedBlock(), cols,
                    scores, lds);
        }

        for (int i = 0; i < count; i++) {
            int limit = task.causal() ? keys(plan, cache, task, rows[start + i]) : seen;
            softmaxRow(scores, i * lds, limit, cols, plan.scale(), i);
        }
        int ldo = HostLayout.padColumns(dim);
        float[] outputs = scratch.outputs;
        if (values != null) {
            MatMul.multiply(scores, lds, padded, cols, values, ldo, outputs, ldo);
        } else {
            MatMul.multiplyFew(scores, lds, count, cols, block, cache.valuesOffset(kvHead), cache.paddedDim(), ldo,
                    outputs, ldo);
        }
        for (int i = 0; i < count; i++) {
            if (last) {
                states.addLast(rows[start + i], scratch.rowMax[i], scratch.rowSum[i], outputs, i * ldo);
            } else {
                states.add(rows[start + i], scratch.rowMax[i], scratch.rowSum[i], outputs, i * ldo);
            }
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
            FloatVector p = VectorExp.exp(FloatVector.fromArray(MatMul.SPECIES, scores, offset + c).fma(factor, shift));
            p.intoArray(scores, offset + c);
            sumVector = sumVector.add(p);
        }
        scratch.rowMax[tileRow] = max;
        scratch.rowSum[tileRow] = sumVector.reduceLanes(VectorOperators.ADD);
    }

    /**
     * The largest of {@code scores[offset, offset + cols)}, {@code cols} a multiple of {@link MatMul#LANES}. A compare
     * and a blend per vector, on four accumulators, whose chains of compare and blend bound the pass more than its
     * loads do (two accumulators measured 0.092 ns per score, four 0.067): {@link FloatVector#max} keeps Java's rules
     * for NaN and -0.0, which cost several instructions per vector, and this pass ran a third of the softmax's time
     * with it.
     */
    private static float rowMax(float[] scores, int offset, int cols) {
        FloatVector m0 = FloatVector.broadcast(MatMul.SPECIES, Float.NEGATIVE_INFINITY);
        FloatVector m1 = m0;
        FloatVector m2 = m0;
        FloatVector m3 = m0;
        int c = 0;
        for (; c + 4 * MatMul.LANES <= cols; c += 4 * MatMul.LANES) {
            FloatVector v0 = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c);
            FloatVector v1 = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c + MatMul.LANES);
            FloatVector v2 = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c + 2 * MatMul.LANES);
            FloatVector v3 = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c + 3 * MatMul.LANES);
            m0 = m0.blend(v0, m0.lt(v0));
            m1 = m1.blend(v1, m1.lt(v1));
            m2 = m2.blend(v2, m2.lt(v2));
            m3 = m3.blend(v3, m3.lt(v3));
        }
        for (; c < cols; c += MatMul.LANES) {
            FloatVector v = FloatVector.fromArray(MatMul.SPECIES, scores, offset + c);
            m0 = m0.blend(v, m0.lt(v));
        }
        m0 = m0.blend(m1, m0.lt(m1));
        m2 = m2.blend(m3, m2.lt(m3));
        return m0.blend(m2, m0.lt(m2)).reduceLanes(VectorOperators.MAX);
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
