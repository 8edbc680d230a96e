package dev.moba.benchmarks;

import dev.moba.backend.java.JavaBackend;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.BackendOptions;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Locale;

/**
 * The streaming engine's own cost, measured A/B interleaved: the engine path and the direct core path take turns
 * (prefill rounds alternate which goes first; decode alternates in runs of 50 tokens), so that the noise of a shared
 * machine falls on both alike. Decode reports each path's p50 and p99 over all tokens, and the median over runs of
 * each run's difference of medians, which slow drifts of the machine's speed (common on shared hosts) do not move. Decode starts with thousands of warm-up tokens: the engine path runs more code,
 * which the JIT compiler must reach before the comparison means anything. The JMH benchmarks {@link EngineOverheadBenchmark} and
 * {@link DecodeOverheadBenchmark} measure the same work one path after the other.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp "benchmarks/target/benchmarks-0.1.0-SNAPSHOT.jar:benchmarks/target/lib/*" \
 *   dev.moba.benchmarks.OverheadComparison [tokens=32768] [chunk=4096] [decode=1000] [warm=5000] [threads=2] [rounds=7]
 * </pre>
 */
public final class OverheadComparison {

    /** Decode tokens each path runs before the other takes its turn. */
    private static final int DECODE_RUN = 50;

    private OverheadComparison() {}

    public static void main(String[] args) {
        int tokens = intArg(args, "tokens", 32768);
        int chunk = intArg(args, "chunk", 4096);
        int decode = intArg(args, "decode", 1000);
        int threads = intArg(args, "threads", 2);
        int rounds = intArg(args, "rounds", 7);
        int warm = intArg(args, "warm", 5000);
        int warmup = 2;
        var config = MobaConfig.of(512, 3);
        var layout = new HeadLayout(8, 2, 128);
        try (Arena arena = Arena.ofShared();
             JavaBackend backend = new JavaBackend(new BackendOptions(threads));
             EnginePaths engine = EnginePaths.open("engine", backend, config, layout);
             EnginePaths core = EnginePaths.open("core", backend, config, layout)) {
            BenchData data = BenchData.normal(arena, 42, tokens + Math.max(decode, warm), 8, 2, 128);
            double[] engineMs = new double[rounds];
            double[] coreMs = new double[rounds];
            double[] ratio = new double[rounds];
            for (int r = -warmup; r < rounds; r++) {
                boolean engineFirst = (r & 1) == 0;
                double first = prefill(engineFirst ? engine : core, data, tokens, chunk);
                double second = prefill(engineFirst ? core : engine, data, tokens, chunk);
                if (r >= 0) {
                    engineMs[r] = engineFirst ? first : second;
                    coreMs[r] = engineFirst ? second : first;
                    ratio[r] = engineMs[r] / coreMs[r];
                }
            }
            System.out.printf(Locale.ROOT, "prefill %d tokens in chunks of %d, %d threads, median of %d rounds:"
                            + " engine %.1f ms, core %.1f ms, overhead %.2f%% (median of per-round ratios)%n",
                    tokens, chunk, threads, rounds, median(engineMs), median(coreMs), (median(ratio) - 1) * 100);

            // Warm the decode path of both, then measure on fresh documents of exactly `tokens` tokens.
            for (int i = 0; i < warm; i++) {
                BenchData token = data.slice(tokens + i, tokens + i + 1);
                time(engine, token);
                time(core, token);
            }
            prefill(engine, data, tokens, chunk);
            prefill(core, data, tokens, chunk);
            long[] engineUs = new long[decode];
            long[] coreUs = new long[decode];
            double[] runDifference = new double[(decode + DECODE_RUN - 1) / DECODE_RUN];
            // Runs of a few tokens each, taking turns: a step's bookkeeping after its answer never overlaps the
            // other path's step, and both see the same noise.
            for (int from = 0; from < decode; from += DECODE_RUN) {
                int to = Math.min(decode, from + DECODE_RUN);
                for (int i = from; i < to; i++) {
                    engineUs[i] = time(engine, data.slice(tokens + i, tokens + i + 1));
                }
                for (int i = from; i < to; i++) {
                    coreUs[i] = time(core, data.slice(tokens + i, tokens + i + 1));
                }
                runDifference[from / DECODE_RUN] = (median(engineUs, from, to) - median(coreUs, from, to)) / 1e3;
            }
            Arrays.sort(engineUs);
            Arrays.sort(coreUs);
            System.out.printf(Locale.ROOT, "decode %d tokens after %d (after %d warm-up tokens), per token: engine p50 %.1f us"
                            + " p99 %.1f us, core p50 %.1f us p99 %.1f us, overhead %.1f us at p50, %.1f us at p99,"
                            + " %.1f us median of the runs' differences of medians%n",
                    decode, tokens, warm, engineUs[decode / 2] / 1e3, engineUs[decode * 99 / 100] / 1e3,
                    coreUs[decode / 2] / 1e3, coreUs[decode * 99 / 100] / 1e3,
                    (engineUs[decode / 2] - coreUs[decode / 2]) / 1e3,
                    (engineUs[decode * 99 / 100] - coreUs[decode * 99 / 100]) / 1e3, median(runDifference));
        }
    }

    private static double prefill(EnginePaths path, BenchData data, int tokens, int chunk) {
        path.restart();
        long start = System.nanoTime();
        path.prefill(data, tokens, chunk);
        return (System.nanoTime() - start) / 1e6;
    }

    private static long time(EnginePaths path, BenchData token) {
        long start = System.nanoTime();
        path.forward(token);
        return System.nanoTime() - start;
    }

    /** The median of {@code values[from, to)}, which it leaves in place. */
    private static long median(long[] values, int from, int to) {
        long[] run = Arrays.copyOfRange(values, from, to);
        Arrays.sort(run);
        return run[run.length / 2];
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static int intArg(String[] args, String name, int fallback) {
        for (String arg : args) {
            if (arg.startsWith(name + "=")) {
                return Integer.parseInt(arg.substring(name.length() + 1));
            }
        }
        return fallback;
    }
}
