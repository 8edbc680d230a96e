package dev.moba.bench;

import java.util.List;

/**
 * The timed runs of one workload: MoBA's, and dense causal attention's when it was timed too.
 *
 * @param workload  what was timed
 * @param mobaRuns  milliseconds of each timed MoBA prefill, at least one
 * @param denseRuns milliseconds of each timed dense prefill; empty when dense was not timed
 */
public record PrefillPoint(PrefillWorkload workload, List<Double> mobaRuns, List<Double> denseRuns) {

    public PrefillPoint {
        if (mobaRuns.isEmpty()) throw new IllegalArgumentException("a point needs at least one MoBA run");
        mobaRuns = List.copyOf(mobaRuns);
        denseRuns = List.copyOf(denseRuns);
    }

    /** Tokens of the prefilled sequence. */
    public int tokens() {
        return workload.tokens();
    }

    /** Whether dense attention was timed. */
    public boolean hasDense() {
        return !denseRuns.isEmpty();
    }

    /** Median MoBA milliseconds. */
    public double mobaMs() {
        return PrefillBench.median(mobaRuns);
    }

    /** Median dense milliseconds; only when {@link #hasDense()}. */
    public double denseMs() {
        requireDense();
        return PrefillBench.median(denseRuns);
    }

    /** How many times faster MoBA is than dense: dense median over MoBA median; only when {@link #hasDense()}. */
    public double speedup() {
        return denseMs() / mobaMs();
    }

    /** MoBA's effective GFLOP/s: the flops of the pairs it attends over its median time. */
    public double mobaGflops() {
        return workload.flops(workload.mobaPairs()) / (mobaMs() * 1e6);
    }

    private void requireDense() {
        if (!hasDense()) throw new IllegalStateException("dense attention was not timed at " + tokens() + " tokens");
    }
}
