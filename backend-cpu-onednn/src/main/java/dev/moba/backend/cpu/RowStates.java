package dev.moba.backend.cpu;

import dev.moba.merge.Partials;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Online-softmax state of every query row of a plan while its blocks are processed one tile at a time: the
 * unnormalised output (kept in the partials' own memory), the running maximum of the scaled scores and the running
 * sum of their exponentials. Units of work own disjoint rows, so no row is touched by two threads.
 */
final class RowStates {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final Partials partials;
    private final MemorySegment output;
    private final float[] max;
    private final float[] sum;
    private final int dim;

    RowStates(Partials partials) {
        this.partials = partials;
        this.output = partials.output();
        this.dim = partials.dim();
        this.max = new float[partials.rows()];
        this.sum = new float[partials.rows()];
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
    }

    /**
     * Folds one tile row into {@code row}: scaled score maximum {@code tileMax}, exponential sum {@code tileSum},
     * unnormalised output {@code dim} fp32 values at byte {@code offset} of {@code values}.
     */
    void add(int row, float tileMax, float tileSum, MemorySegment values, long offset) {
        float newMax = Math.max(max[row], tileMax);
        float keep = (float) Math.exp(max[row] - newMax);
        float take = (float) Math.exp(tileMax - newMax);
        long base = (long) row * dim * Float.BYTES;
        int d = 0;
        for (int bound = SPECIES.loopBound(dim); d < bound; d += SPECIES.length()) {
            long at = base + (long) d * Float.BYTES;
            FloatVector.fromMemorySegment(SPECIES, output, at, ORDER).mul(keep)
                    .add(FloatVector.fromMemorySegment(SPECIES, values, offset + (long) d * Float.BYTES, ORDER)
                            .mul(take))
                    .intoMemorySegment(output, at, ORDER);
        }
        for (; d < dim; d++) {
            long at = base + (long) d * Float.BYTES;
            output.set(F32, at, output.get(F32, at) * keep + values.get(F32, offset + (long) d * Float.BYTES) * take);
        }
        sum[row] = sum[row] * keep + tileSum * take;
        max[row] = newMax;
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
            for (int bound = SPECIES.loopBound(dim); d < bound; d += SPECIES.length()) {
                long at = base + (long) d * Float.BYTES;
                FloatVector.fromMemorySegment(SPECIES, output, at, ORDER).mul(inv).intoMemorySegment(output, at, ORDER);
            }
            for (; d < dim; d++) {
                long at = base + (long) d * Float.BYTES;
                output.set(F32, at, output.get(F32, at) * inv);
            }
            partials.setLse(row, max[row] + (float) Math.log(sum[row]));
        }
    }
}
