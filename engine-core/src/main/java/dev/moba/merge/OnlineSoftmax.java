package dev.moba.merge;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Merging of attention partials: two results {@code (oA, lseA)} and {@code (oB, lseB)} over disjoint key sets
 * combine into the result over their union as
 * {@code lse = log(exp(lseA) + exp(lseB))}, {@code o = exp(lseA - lse) * oA + exp(lseB - lse) * oB}.
 * A part with no keys has {@code lse = -infinity} and contributes nothing.
 */
public final class OnlineSoftmax {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private OnlineSoftmax() {}

    /** {@code log(exp(a) + exp(b))} without overflow; {@code -infinity} when both are. */
    public static float logAddExp(float a, float b) {
        float max = Math.max(a, b);
        if (max == Float.NEGATIVE_INFINITY) {
            return Float.NEGATIVE_INFINITY;
        }
        return max + (float) Math.log(Math.exp(a - max) + Math.exp(b - max));
    }

    /**
     * Merges the row {@code oB} (with {@code lseB}) into the row {@code oA} (with {@code lseA}) in place, each of
     * {@code dim} fp32 values at the given byte offsets, and returns the merged lse.
     */
    public static float mergeInto(MemorySegment oA, long offsetA, float lseA,
                                  MemorySegment oB, long offsetB, float lseB, int dim) {
        float lse = logAddExp(lseA, lseB);
        if (lse == Float.NEGATIVE_INFINITY) {
            return lse;
        }
        float wa = lseA == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(lseA - lse);
        float wb = lseB == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(lseB - lse);
        for (int d = 0; d < dim; d++) {
            long ia = offsetA + (long) d * Float.BYTES;
            long ib = offsetB + (long) d * Float.BYTES;
            oA.set(F32, ia, wa * oA.get(F32, ia) + wb * oB.get(F32, ib));
        }
        return lse;
    }
}
