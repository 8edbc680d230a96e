package dev.moba.backend.java;

import dev.moba.merge.Partials;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import java.util.Arrays;

/**
 * Running online-softmax state of every query row of a plan while its blocks are processed one by one: the
 * unnormalised output (written straight into the partials' memory), the running maximum of the scaled scores and
 * the running sum of their exponentials. Rows of different kv heads are disjoint, so workers of different heads
 * never touch the same row.
 */
final class RowAccumulators {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private final Partials partials;
    private final MemorySegment output;
    private final float[] max;
    private final float[] sum;
    private final int dim;

    RowAccumulators(Partials partials) {
        this.partials = partials;
        this.output = partials.output();
        this.dim = partials.dim();
        this.max = new float[partials.rows()];
        this.sum = new float[partials.rows()];
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
    }

    /**
     * Folds in one block's contribution to {@code row}: scores with maximum {@code blockMax}, exponential sum
     * {@code blockSum}, and unnormalised output {@code values[offset .. offset + dim)}.
     */
    void add(int row, float blockMax, float blockSum, float[] values, int offset) {
        float oldMax = max[row];
        // One of the two factors is exp(0) = 1: a single exponential per fold.
        float keep = 1f;
        float take = 1f;
        if (blockMax > oldMax) {
            keep = (float) Math.exp(oldMax - blockMax);
            max[row] = blockMax;
        } else {
            take = (float) Math.exp(blockMax - oldMax);
        }
        long base = (long) row * dim * Float.BYTES;
        int d = 0;
        for (int bound = MatMul.SPECIES.loopBound(dim); d < bound; d += MatMul.LANES) {
            long at = base + (long) d * Float.BYTES;
            FloatVector.fromMemorySegment(MatMul.SPECIES, output, at, ORDER).mul(keep)
                    .add(FloatVector.fromArray(MatMul.SPECIES, values, offset + d).mul(take))
                    .intoMemorySegment(output, at, ORDER);
        }
        for (; d < dim; d++) {
            long at = base + (long) d * Float.BYTES;
            output.set(F32, at, output.get(F32, at) * keep + values[offset + d] * take);
        }
        sum[row] = sum[row] * keep + blockSum * take;
    }

    /** Normalises rows {@code [from, to)} and stores their log-sum-exp; rows without keys keep lse -infinity. */
    void finish(int from, int to) {
        for (int row = from; row < to; row++) {
            if (sum[row] == 0f) {
                partials.setLse(row, Float.NEGATIVE_INFINITY);
                continue;
            }
            float inv = 1f / sum[row];
            long base = (long) row * dim * Float.BYTES;
            int d = 0;
            for (int bound = MatMul.SPECIES.loopBound(dim); d < bound; d += MatMul.LANES) {
                long at = base + (long) d * Float.BYTES;
                FloatVector.fromMemorySegment(MatMul.SPECIES, output, at, ORDER).mul(inv)
                        .intoMemorySegment(output, at, ORDER);
            }
            for (; d < dim; d++) {
                long at = base + (long) d * Float.BYTES;
                output.set(F32, at, output.get(F32, at) * inv);
            }
            partials.setLse(row, max[row] + (float) Math.log(sum[row]));
        }
    }
}
