package dev.moba.bench;

import dev.moba.attention.MobaAttention;
import dev.moba.attention.Sequence;
import dev.moba.config.AttentionMode;
import dev.moba.config.MobaConfig;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Times one-shot prefills of a {@link PrefillWorkload} through {@link MobaAttention} on one backend: each run opens
 * a fresh sequence and times the {@code forward} call (append, gating, planning, attention, merge) into an output
 * tensor that every run reuses, as a model's layer writes into its activation buffer. The result is the median of
 * the timed runs, after untimed warm-up runs that create whatever the backend creates once.
 */
public final class PrefillBench {

    private final Backend backend;
    private final PrefillWorkload workload;
    private final DType dtype;
    private final Tensor q;
    private final Tensor k;
    private final Tensor v;
    private final Tensor out;

    /** Draws the workload's data with {@code seed} into {@code arena}, where the output lives too. */
    public PrefillBench(Backend backend, PrefillWorkload workload, DType dtype, long seed, Arena arena) {
        this.backend = backend;
        this.workload = workload;
        this.dtype = dtype;
        this.q = workload.queries(arena, seed);
        this.k = workload.keysOrValues(arena, seed + 1);
        this.v = workload.keysOrValues(arena, seed + 2);
        this.out = Tensor.allocate(arena, DType.FP32, q.tokens(), q.heads(), q.dim());
    }

    /** Milliseconds of each of {@code runs} timed prefills in {@code mode}, after {@code warmups} untimed ones. */
    public List<Double> time(AttentionMode mode, int warmups, int runs, Consumer<String> progress) {
        var config = new MobaConfig(workload.blockSize(), workload.topK(), Float.NaN, dtype, mode);
        List<Double> times = new ArrayList<>(runs);
        try (MobaAttention layer = new MobaAttention(config, workload.layout(), backend)) {
            for (int i = 0; i < warmups + runs; i++) {
                double ms = once(layer);
                boolean warmup = i < warmups;
                if (!warmup) {
                    times.add(ms);
                }
                progress.accept(String.format(Locale.ROOT, "%s %s %d: %.1f ms",
                        mode == AttentionMode.FULL ? "dense" : "moba", warmup ? "warm-up" : "run",
                        warmup ? i + 1 : i - warmups + 1, ms));
            }
        }
        return List.copyOf(times);
    }

    private double once(MobaAttention layer) {
        try (Sequence sequence = layer.openSequence()) {
            long start = System.nanoTime();
            layer.forward(sequence, q, k, v, out);
            return (System.nanoTime() - start) / 1e6;
        }
    }

    /** The median of {@code values}. */
    public static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
