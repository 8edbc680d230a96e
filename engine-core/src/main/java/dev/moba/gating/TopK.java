package dev.moba.gating;

import java.util.Arrays;

/**
 * Partial selection of the best-scoring blocks of one query row. Equal scores keep the lower block index, so the
 * choice is deterministic. Costs {@code O(candidates * picks)} in the worst case, and close to
 * {@code O(candidates)} when {@code picks} is small, as it is in MoBA.
 */
public final class TopK {

    private TopK() {}

    /**
     * Writes into {@code out[offset .. offset + picks)} the indices of the {@code picks} largest of
     * {@code scores[from .. from + candidates)} (as indices {@code 0 .. candidates-1}), ascending, then {@code -1}
     * for slots beyond {@code candidates}. {@code work} must hold at least {@code picks} floats.
     */
    public static void select(float[] scores, int from, int candidates, int picks, int[] out, int offset,
                              float[] work) {
        if (candidates <= picks) {
            for (int i = 0; i < picks; i++) {
                out[offset + i] = i < candidates ? i : -1;
            }
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
}
