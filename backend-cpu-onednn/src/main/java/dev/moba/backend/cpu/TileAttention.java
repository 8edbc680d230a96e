package dev.moba.backend.cpu;

import dev.moba.kv.HostKvCache;
import dev.moba.merge.RowStates;
import dev.moba.plan.AttendPlan;
import dev.moba.plan.BlockTask;
import dev.moba.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Runs the block tasks of one kv head of a plan, for the query tokens in a given range, on one thread.
 *
 * <p>For each block and each tile of up to {@link AttentionShape#MAX_ROWS} query rows that read it: gather the rows
 * in the compute type, score them against the block's keys (oneDNN matmul), mask keys past each row's position in a
 * causal block and exponentiate against the row maximum (Vector API, in fp32), multiply the probabilities, in the
 * compute type, by the block's values (oneDNN matmul), and fold the result into the rows' running softmax state.
 */
final class TileAttention {

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.length() * Short.SIZE));
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private final Worker worker;
    private final float[] tileMax = new float[AttentionShape.MAX_ROWS];
    private final float[] tileSum = new float[AttentionShape.MAX_ROWS];

    TileAttention(Worker worker) {
        this.worker = worker;
    }

    /** Processes the rows of tokens {@code [tokenFrom, tokenTo)} of kv head {@code kvHead}. */
    void run(AttendPlan plan, HostKvCache cache, AttentionShape shape, int kvHead, int tokenFrom, int tokenTo,
             RowStates states) {
        int qHeads = plan.layout().qHeads();
        int blockSize = cache.spec().blockSize();
        Worker.Buffers buffers = worker.buffers(shape);
        for (BlockTask task : plan.tasksByKvHead().get(kvHead)) {
            int[] rows = task.rows();
            int lo = task.rowsFrom(tokenFrom * qHeads);
            int hi = task.rowsFrom(tokenTo * qHeads);
            if (lo == hi) {
                continue;
            }
            MemorySegment block = cache.block(task.block());
            long keys = block.address() + cache.keysOffset(kvHead);
            long values = block.address() + cache.valuesOffset(kvHead);
            if (shape.widens()) {
                widen(cache, block, kvHead, shape, buffers.widened());
                keys = buffers.widened().address();
                values = keys + (long) shape.dim() * shape.paddedBlock() * Float.BYTES;
            }
            int blockStart = task.block() * blockSize;
            for (int start = lo; start < hi; start += AttentionShape.MAX_ROWS) {
                int count = Math.min(AttentionShape.MAX_ROWS, hi - start);
                int rowBucket = AttentionShape.rowBucket(count);
                int lastLimit = task.causal()
                        ? plan.firstPosition() + rows[start + count - 1] / qHeads - blockStart + 1
                        : blockSize;
                int keyBucket = shape.keyBucket(lastLimit);
                gather(plan, rows, start, count, shape, buffers.queries());
                worker.scores(shape, rowBucket, keyBucket, keys);
                for (int i = 0; i < count; i++) {
                    int limit = task.causal()
                            ? plan.firstPosition() + rows[start + i] / qHeads - blockStart + 1
                            : blockSize;
                    softmaxRow(buffers, shape, i, limit, keyBucket, plan.scale());
                }
                worker.outputs(shape, rowBucket, keyBucket, values);
                long rowBytes = (long) shape.dim() * Float.BYTES;
                for (int i = 0; i < count; i++) {
                    states.add(rows[start + i], tileMax[i], tileSum[i], buffers.outputs(), i * rowBytes);
                }
            }
        }
    }

    /** Copies the tile's query rows into the query buffer, in the compute type (exact: q is already rounded). */
    private static void gather(AttendPlan plan, int[] rows, int start, int count, AttentionShape shape,
                               MemorySegment out) {
        MemorySegment q = plan.queries().segment();
        int dim = shape.dim();
        long rowBytes = (long) dim * Float.BYTES;
        for (int i = 0; i < count; i++) {
            long from = rows[start + i] * rowBytes;
            if (shape.computeBytes() == Float.BYTES) {
                MemorySegment.copy(q, from, out, i * rowBytes, rowBytes);
                continue;
            }
            long to = (long) i * dim;
            int d = 0;
            for (int bound = FLOATS.loopBound(dim); d < bound; d += FLOATS.length()) {
                FloatVector v = FloatVector.fromMemorySegment(FLOATS, q, from + (long) d * Float.BYTES, ORDER);
                toBf16(v).intoMemorySegment(out, (to + d) * Short.BYTES, ORDER);
            }
            for (; d < dim; d++) {
                DType.BF16.set(out, to + d, q.get(ValueLayout.JAVA_FLOAT_UNALIGNED, from + (long) d * Float.BYTES));
            }
        }
    }

    /**
     * Turns row {@code i} of the scores into probabilities {@code exp(scale * (s - max))} over its first
     * {@code limit} keys and 0 up to {@code keys}, written in the compute type; records the row's scaled maximum
     * and exponential sum. {@code keys} is a multiple of the vector length. Whole vectors run unmasked, the few keys
     * past the last whole vector below {@code limit} run scalar.
     */
    private void softmaxRow(Worker.Buffers buffers, AttentionShape shape, int i, int limit, int keys, float scale) {
        MemorySegment scores = buffers.scores();
        MemorySegment probabilities = buffers.probabilities();
        boolean narrow = shape.computeBytes() != Float.BYTES;
        long row = (long) i * shape.paddedBlock();
        int lanes = FLOATS.length();
        int whole = limit - limit % lanes;
        FloatVector maxVector = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
        for (int c = 0; c < whole; c += lanes) {
            maxVector = maxVector.max(FloatVector.fromMemorySegment(FLOATS, scores, (row + c) * Float.BYTES, ORDER));
        }
        float max = maxVector.reduceLanes(VectorOperators.MAX);
        for (int c = whole; c < limit; c++) {
            max = Math.max(max, scores.getAtIndex(ValueLayout.JAVA_FLOAT, row + c));
        }
        FloatVector maxLanes = FloatVector.broadcast(FLOATS, max);
        FloatVector scaleLanes = FloatVector.broadcast(FLOATS, scale);
        FloatVector sumVector = FloatVector.zero(FLOATS);
        for (int c = 0; c < whole; c += lanes) {
            FloatVector p = FloatVector.fromMemorySegment(FLOATS, scores, (row + c) * Float.BYTES, ORDER)
                    .sub(maxLanes).mul(scaleLanes);
            p = FastExp.exp(p);
            sumVector = sumVector.add(p);
            store(probabilities, narrow, row + c, p);
        }
        float sum = sumVector.reduceLanes(VectorOperators.ADD);
        int end = Math.min(keys, whole + lanes);
        for (int c = whole; c < end; c++) {
            float p = c < limit ? (float) Math.exp((scores.getAtIndex(ValueLayout.JAVA_FLOAT, row + c) - max) * scale)
                    : 0f;
            sum += p;
            (narrow ? DType.BF16 : DType.FP32).set(probabilities, row + c, p);
        }
        FloatVector zero = FloatVector.zero(FLOATS);
        for (int c = end; c < keys; c += lanes) {
            store(probabilities, narrow, row + c, zero);
        }
        tileMax[i] = max * scale;
        tileSum[i] = sum;
    }

    private static void store(MemorySegment probabilities, boolean narrow, long index, FloatVector p) {
        if (narrow) {
            toBf16(p).intoMemorySegment(probabilities, index * Short.BYTES, ORDER);
        } else {
            p.intoMemorySegment(probabilities, index * Float.BYTES, ORDER);
        }
    }

    /** {@code v} rounded to bf16, nearest even (finite inputs). */
    static ShortVector toBf16(FloatVector v) {
        IntVector bits = v.reinterpretAsInts();
        IntVector rounded = bits.add(bits.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF))
                .lanewise(VectorOperators.LSHR, 16);
        return (ShortVector) rounded.convertShape(VectorOperators.I2S, SHORTS, 0);
    }

    /** Widens kv head {@code kvHead} of a block to fp32 in {@code out}: transposed keys, then values. */
    private static void widen(HostKvCache cache, MemorySegment block, int kvHead, AttentionShape shape,
                              MemorySegment out) {
        DType dtype = shape.storage();
        long keyElements = (long) shape.dim() * shape.paddedBlock();
        long valueElements = (long) shape.paddedBlock() * shape.paddedDim();
        dtype.widen(block, cache.keysOffset(kvHead) / dtype.bytes(), out, 0, keyElements);
        dtype.widen(block, cache.valuesOffset(kvHead) / dtype.bytes(), out, keyElements, valueElements);
    }
}
