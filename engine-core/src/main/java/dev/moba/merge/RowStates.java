package dev.moba.merge;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The online-softmax state of every query row of one attend plan while a CPU backend folds in its blocks one tile
 * at a time: the unnormalised output (kept in the partials' own memory), the running maximum of the scaled scores
 * and the running sum of their exponentials; {@link #finish} then leaves normalised partials. Callers split the
 * rows into disjoint units of work, so no row is touched by two threads; the class itself does not lock.
 */
public final class RowStates {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final Partials partials;
    private final MemorySegment output;
    private final float[] max;
    private final float[] sum;
    private final int dim;

    /**
     * Empty states for the rows of {@code partials}, whose output memory they accumulate in. That memory need not be
     * zeroed ({@link Partials#unwritten}): a row's first fold overwrites it, and {@link #finish} zeroes a row that
     * got none.
     */
    public RowStates(Partials partials) {
        this.partials = partials;
        this.output = partials.output();
        this.dim = partials.dim();
        this.max = new float[partials.rows()];
        this.sum = new float[partials.rows()];
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
    }

    /**
     * Folds one tile's contribution into {@code row}: scaled score maximum {@code tileMax}, exponential sum
     * {@code tileSum}, and unnormalised output {@code values[offset .. offset + dim)}. Of the factors on the row's
     * output so far ({@code keep}) and on the tile's ({@code take}), one is exp(0) = 1: one exponential per fold.
     *
     * <p>The two {@code add} methods are one loop over two kinds of memory: a heap segment over the array measured
     * 1.8x slower for a whole prefill, and the factors computed in a helper 2% slower.
     */
    public void add(int row, float tileMax, float tileSum, float[] values, int offset) {
        float oldMax = max[row];
        if (oldMax == Float.NEGATIVE_INFINITY) {
            first(row, tileMax, tileSum);
            MemorySegment.copy(values, offset, output, F32, (long) row * dim * Float.BYTES, dim);
            return;
        }
        float keep = 1f;
        float take = 1f;
        if (tileMax > oldMax) {
            keep = (float) Math.exp(oldMax - tileMax);
            max[row] = tileMax;
        } else {
            take = (float) Math.exp(tileMax - oldMax);
        }
        long base = (long) row * dim * Float.BYTES;
        int d = 0;
        for (int bound = SPECIES.loopBound(dim); d < bound; d += SPECIES.length()) {
            long at = base + (long) d * Float.BYTES;
            FloatVector.fromMemorySegment(SPECIES, output, at, ORDER).mul(keep)
                    .add(FloatVector.fromArray(SPECIES, values, offset + d).mul(take))
                    .intoMemorySegment(output, at, ORDER);
        }
        for (; d < dim; d++) {
            long at = base + (long) d * Float.BYTES;
            output.set(F32, at, output.get(F32, at) * keep + values[offset + d] * take);
        }
        sum[row] = sum[row] * keep + tileSum * take;
    }

    /**
     * {@link #add(int, float, float, float[], int)} for the row's last tile: also normalises the row and stores its
     * log-sum-exp, in the same pass over its output, so that {@link #finish} has nothing left to do for it (the
     * output equals that of {@code add} then {@code finish}, bit for bit). No fold may follow for this row.
     */
    public void addLast(int row, float tileMax, float tileSum, float[] values, int offset) {
        float oldMax = max[row];
        boolean first = oldMax == Float.NEGATIVE_INFINITY;
        float keep = 1f;
        float take = 1f;
        float newMax = oldMax;
        if (first) {
            keep = 0f;
            newMax = tileMax;
        } else if (tileMax > oldMax) {
            keep = (float) Math.exp(oldMax - tileMax);
            newMax = tileMax;
        } else {
            take = (float) Math.exp(tileMax - oldMax);
        }
        float total = sum[row] * keep + tileSum * take;
        float inv = 1f / total;
        long base = (long) row * dim * Float.BYTES;
        int d = 0;
        for (int bound = SPECIES.loopBound(dim); d < bound; d += SPECIES.length()) {
            long at = base + (long) d * Float.BYTES;
            FloatVector v = FloatVector.fromArray(SPECIES, values, offset + d).mul(take);
            if (!first) {
                v = FloatVector.fromMemorySegment(SPECIES, output, at, ORDER).mul(keep).add(v);
            }
            v.mul(inv).intoMemorySegment(output, at, ORDER);
        }
        for (; d < dim; d++) {
            long at = base + (long) d * Float.BYTES;
            float v = values[offset + d] * take;
            output.set(F32, at, (first ? v : output.get(F32, at) * keep + v) * inv);
        }
        float lse = newMax + (float) Math.log(total);
        // A finished row: sum 1 and max its lse, which finish leaves as they are.
        max[row] = lse;
        sum[row] = 1f;
        partials.setLse(row, lse);
    }

    /**
     * {@link #add(int, float, float, float[], int)} with the tile's output at byte {@code offset} of native memory.
     */
    public void add(int row, float tileMax, float tileSum, MemorySegment values, long offset) {
        float oldMax = max[row];
        if (oldMax == Float.NEGATIVE_INFINITY) {
            first(row, tileMax, tileSum);
            MemorySegment.copy(values, offset, output, (long) row * dim * Float.BYTES, (long) dim * Float.BYTES);
            return;
        }
        float keep = 1f;
        float take = 1f;
        if (tileMax > oldMax) {
            keep = (float) Math.exp(oldMax - tileMax);
            max[row] = tileMax;
        } else {
            take = (float) Math.exp(tileMax - oldMax);
        }
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
    }

    /** A row's first fold: its output is overwritten, not read (it may hold anything). */
    private void first(int row, float tileMax, float tileSum) {
        max[row] = tileMax;
        sum[row] = tileSum;
    }

    /**
     * Normalises the rows of kv head {@code kvHead} for tokens {@code [tokenFrom, tokenTo)} (query heads
     * {@code kvHead * group ..} of {@code qHeads} per token) and stores their log-sum-exp: the end of a unit of work.
     */
    public void finish(int kvHead, int tokenFrom, int tokenTo, int qHeads, int group) {
        for (int t = tokenFrom; t < tokenTo; t++) {
            int first = t * qHeads + kvHead * group;
            finish(first, first + group);
        }
    }

    /** Normalises rows {@code [from, to)} and stores their log-sum-exp; rows without keys get zeros, lse -infinity. */
    private void finish(int from, int to) {
        for (int row = from; row < to; row++) {
            if (sum[row] == 0f) {
                output.asSlice((long) row * dim * Float.BYTES, (long) dim * Float.BYTES).fill((byte) 0);
                partials.setLse(row, Float.NEGATIVE_INFINITY);
                continue;
            }
            if (sum[row] == 1f) {  // normalised already (addLast), or dividing by 1 would change nothing
                partials.setLse(row, max[row]);
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
