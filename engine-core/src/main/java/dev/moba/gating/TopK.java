package dev.moba.gating;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Partial selection of the best-scoring blocks of one query row. Equal scores keep the lower block index, so the
 * choice is deterministic. Costs {@code O(candidates * picks)} in the worst case, and close to
 * {@code O(candidates)} when {@code picks} is small, as it is in MoBA: a few picks take vector passes.
 */
public final class TopK {

    /**
     * Vectors of at most 256 bits: over a window of a few dozen candidates, the 512-bit masks and blends of AVX-512
     * measured 30% slower per row than 256-bit ones on the same Xeon core.
     */
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED.vectorBitSize() > 256
            ? FloatVector.SPECIES_256 : FloatVector.SPECIES_PREFERRED;
    /** Picks up to which {@link #selectFew} runs. */
    private static final int FEW = 4;

    private TopK() {}

    /**
     * Writes into {@code out[offset .. offset + picks)} the indices of the {@code picks} largest of
     * {@code scores[from .. from + candidates)} (as indices {@code 0 .. candidates-1}), ascending, then {@code -1}
     * for slots beyond {@code candidates}. {@code work} must hold at least {@code picks} floats. The window of
     * {@code scores} may be written while this runs and holds its values again when it returns.
     */
    public static void select(float[] scores, int from, int candidates, int picks, int[] out, int offset,
                              float[] work) {
        if (candidates <= picks) {
            for (int i = 0; i < picks; i++) {
                out[offset + i] = i < candidates ? i : -1;
            }
            return;
        }
        if (picks <= 2 ? selectTwo(scores, from, candidates, picks, out, offset)
                : picks <= FEW && selectFew(scores, from, candidates, picks, out, offset, work)) {
            return;
        }
        // Keep the best picks in descending score order; a strict comparison keeps earlier blocks on ties.
        int kept = 0;
        for (int i = 0; i < candidates; i++) {
            float s = scores[from + i];
            if (kept == picks && !(s > work[picks - 1])) {
                continue;
            }
            int pos = kept == picks ? picks - 1 : kept++;
            while (pos > 0 && s > work[pos - 1]) {
                work[pos] = work[pos - 1];
                out[offset + pos] = out[offset + pos - 1];
                pos--;
            }
            work[pos] = s;
            out[offset + pos] = i;
        }
        Arrays.sort(out, offset, offset + picks);
    }

    /**
     * {@link #select} for one or two picks (top-k 3, MoBA's usual, picks two) in one vector pass: each lane keeps
     * its best two candidates (value descending, index ascending), then the picks are taken from the lanes' heads:
     * half the time of {@link #selectFew}, which passes over the window twice per pick. Candidate indices ride along as
     * floats, exact below 2^24. Returns false, with nothing changed, when fewer than {@code picks} scores are above
     * -infinity (overflowed or NaN scores), which the scalar scan handles.
     */
    private static boolean selectTwo(float[] scores, int from, int candidates, int picks, int[] out, int offset) {
        FloatVector first = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        FloatVector second = first;
        FloatVector firstAt = FloatVector.zero(SPECIES);
        FloatVector secondAt = firstAt;
        FloatVector lanes = FloatVector.zero(SPECIES).addIndex(1);
        for (int i = 0; i < candidates; i += SPECIES.length()) {
            FloatVector v = i + SPECIES.length() <= candidates ? FloatVector.fromArray(SPECIES, scores, from + i)
                    : tail(scores, from + i, candidates - i);
            FloatVector at = lanes.add(i);
            // Strictly greater: a later candidate never displaces an equal earlier one, nor -infinity anything.
            VectorMask<Float> overFirst = first.lt(v);
            VectorMask<Float> overSecond = second.lt(v);
            second = second.blend(v, overSecond).blend(first, overFirst);
            secondAt = secondAt.blend(at, overSecond).blend(firstAt, overFirst);
            first = first.blend(v, overFirst);
            firstAt = firstAt.blend(at, overFirst);
        }
        float best = first.reduceLanes(VectorOperators.MAX);
        if (!(best > Float.NEGATIVE_INFINITY)) {
            return false;
        }
        float bestAt = firstAt.reduceLanes(VectorOperators.MIN, first.eq(best));
        if (picks == 1) {
            out[offset] = (int) bestAt;
            return true;
        }
        VectorMask<Float> winner = firstAt.eq(bestAt);
        FloatVector heads = first.blend(second, winner);
        FloatVector headsAt = firstAt.blend(secondAt, winner);
        float next = heads.reduceLanes(VectorOperators.MAX);
        if (!(next > Float.NEGATIVE_INFINITY)) {
            return false;
        }
        float nextAt = headsAt.reduceLanes(VectorOperators.MIN, heads.eq(next));
        out[offset] = (int) Math.min(bestAt, nextAt);
        out[offset + 1] = (int) Math.max(bestAt, nextAt);
        return true;
    }

    /** The first {@code length} (fewer than a vector) scores from {@code from}, -infinity in the other lanes. */
    private static FloatVector tail(float[] scores, int from, int length) {
        VectorMask<Float> inWindow = SPECIES.indexInRange(0, length);
        return FloatVector.fromArray(SPECIES, scores, from, inWindow).blend(Float.NEGATIVE_INFINITY, inWindow.not());
    }

    /**
     * {@link #select} for three or four picks: one vector pass for the maximum and one for its first index, per
     * pick, each pick masked to -infinity until the end (then restored). Several times faster than the scalar scan,
     * whose insertions mispredict. Returns false, with nothing changed, when the
     * scores left hold no number above -infinity (overflowed or NaN scores), which the scalar scan handles.
     */
    private static boolean selectFew(float[] scores, int from, int candidates, int picks, int[] out, int offset,
                                     float[] work) {
        int picked = 0;
        boolean found = true;
        while (picked < picks) {
            float max = max(scores, from, candidates);
            if (!(max > Float.NEGATIVE_INFINITY)) {
                found = false;
                break;
            }
            int best = firstIndexOf(scores, from, candidates, max);
            work[picked] = max;
            out[offset + picked] = best;
            scores[from + best] = Float.NEGATIVE_INFINITY;
            picked++;
        }
        for (int p = 0; p < picked; p++) {
            scores[from + out[offset + p]] = work[p];
        }
        if (!found) {
            return false;
        }
        for (int i = offset + 1; i < offset + picks; i++) {
            int block = out[i];
            int j = i;
            for (; j > offset && out[j - 1] > block; j--) {
                out[j] = out[j - 1];
            }
            out[j] = block;
        }
        return true;
    }

    /** The largest of the window, ignoring NaN; compare and blend, cheaper than Java's {@code max} rules. */
    private static float max(float[] scores, int from, int candidates) {
        FloatVector best = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i + SPECIES.length() <= candidates; i += SPECIES.length()) {
            FloatVector v = FloatVector.fromArray(SPECIES, scores, from + i);
            best = best.blend(v, best.lt(v));
        }
        if (i < candidates) {
            FloatVector v = tail(scores, from + i, candidates - i);
            best = best.blend(v, best.lt(v));
        }
        return best.reduceLanes(VectorOperators.MAX);
    }

    /** The lowest index of the window holding {@code value}, which it holds. */
    private static int firstIndexOf(float[] scores, int from, int candidates, float value) {
        int i = 0;
        for (; i + SPECIES.length() <= candidates; i += SPECIES.length()) {
            int lane = FloatVector.fromArray(SPECIES, scores, from + i).eq(value).firstTrue();
            if (lane < SPECIES.length()) {
                return i + lane;
            }
        }
        VectorMask<Float> inWindow = SPECIES.indexInRange(i, candidates);
        return i + FloatVector.fromArray(SPECIES, scores, from + i, inWindow).eq(value).and(inWindow).firstTrue();
    }
}
