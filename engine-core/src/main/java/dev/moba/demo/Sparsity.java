package dev.moba.demo;

/**
 * Query-key pairs MoBA attended against those dense causal attention would, summed over query heads and layers.
 *
 * @param attended pairs read: whole selected history blocks and the causal prefix of the current block
 * @param causal   pairs {@code p <= t}
 */
public record Sparsity(long attended, long causal) {

    /** The fraction of causal pairs skipped: {@code 1 - attended / causal}. */
    public double skipped() {
        return causal == 0 ? 0 : 1 - (double) attended / causal;
    }
}
