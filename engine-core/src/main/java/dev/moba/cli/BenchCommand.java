package dev.moba.cli;

import dev.moba.bench.PrefillBench;
import dev.moba.bench.PrefillWorkload;
import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moba bench}: times a one-shot MoBA prefill of random data on a backend, and optionally dense causal
 * attention on the same backend and data, and reports the medians, the speedup and MoBA's effective GFLOP/s (the
 * {@code 4 * headDim} flops of every query-key pair MoBA attends, over its time).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time a MoBA prefill (and dense causal attention with --dense) on one backend.")
final class BenchCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--backend", description = "Backend: auto, java or a plugin id (default: moba.backend, auto).")
    private String backend;

    @Option(names = "--dtype", defaultValue = "fp32", converter = DTypeConverter.class,
            description = "Storage type: fp32, bf16 or fp16 (default: ${DEFAULT-VALUE}).")
    private DType dtype;

    @Option(names = "--tokens", required = true, description = "Tokens of the prefilled sequence.")
    private int tokens;

    @Option(names = "--heads", defaultValue = "8", description = "Query heads (default: ${DEFAULT-VALUE}).")
    private int heads;

    @Option(names = "--kv-heads", defaultValue = "2", description = "Key/value heads (default: ${DEFAULT-VALUE}).")
    private int kvHeads;

    @Option(names = "--head-dim", defaultValue = "128", description = "Head dimension (default: ${DEFAULT-VALUE}).")
    private int headDim;

    @Option(names = "--block", defaultValue = "512", description = "Block size (default: ${DEFAULT-VALUE}).")
    private int block;

    @Option(names = "--top-k", defaultValue = "3", description = "Blocks per query, its own included (default: ${DEFAULT-VALUE}).")
    private int topK;

    @Option(names = "--dense", description = "Also time dense causal attention on the same backend and data.")
    private boolean dense;

    @Option(names = "--runs", defaultValue = "3", description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).")
    private int runs;

    @Option(names = "--dense-runs", description = "Timed dense runs (default: --runs); dense is slow at long contexts.")
    private Integer denseRuns;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed MoBA runs first (default: ${DEFAULT-VALUE}).")
    private int warmup;

    @Option(names = "--threads", description = "Backend worker threads (default: moba.threads, all processors).")
    private Integer threads;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random data (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON to FILE.")
    private Path json;

    @Override
    public Integer call() throws IOException {
        if (runs < 1) throw new IllegalArgumentException("--runs must be >= 1, got " + runs);
        if (warmup < 0) throw new IllegalArgumentException("--warmup must be >= 0, got " + warmup);
        if (denseRuns != null && denseRuns < 1) {
            throw new IllegalArgumentException("--dense-runs must be >= 1, got " + denseRuns);
        }
        PrintWriter out = spec.commandLine().getOut();
        var workload = new PrefillWorkload(tokens, new HeadLayout(heads, kvHeads, headDim), block, topK);
        try (Backend engine = ConfiguredBackend.open(backend, threads); Arena data = Arena.ofShared()) {
            out.printf(Locale.ROOT, "bench: %d tokens, %d/%d heads, dim %d, block %d, top-%d, %s on %s%n", tokens,
                    heads, kvHeads, headDim, block, topK, dtype, engine.id());
            out.flush();
            var bench = new PrefillBench(engine, workload, dtype, seed, data);
            List<Double> moba = bench.time(AttentionMode.MOBA, warmup, runs, line -> progress(out, line));
            // Dense reuses everything MoBA's warm-up created: the same kernels at the same shapes.
            int timedDense = denseRuns == null ? runs : denseRuns;
            List<Double> full = dense
                    ? bench.time(AttentionMode.FULL, 0, timedDense, line -> progress(out, line))
                    : List.of();
            double mobaMs = PrefillBench.median(moba);
            double gflops = workload.flops(workload.mobaPairs()) / (mobaMs * 1e6);
            String denseMs = dense ? format(PrefillBench.median(full)) : "-";
            String speedup = dense ? format(PrefillBench.median(full) / mobaMs) : "-";
            if (json != null) {
                writeJson(engine.id(), workload, moba, full, gflops);
            }
            out.printf(Locale.ROOT, "bench: backend=%s dtype=%s tokens=%d moba_ms=%s dense_ms=%s speedup=%s"
                    + " moba_gflops=%s%n", engine.id(), dtype, tokens, format(mobaMs), denseMs, speedup,
                    format(gflops));
        }
        return 0;
    }

    private static void progress(PrintWriter out, String line) {
        out.println("  " + line);
        out.flush();
    }

    private static String format(double value) {
        return String.format(Locale.ROOT, "%.1f", value);
    }

    private void writeJson(String id, PrefillWorkload workload, List<Double> moba, List<Double> full, double gflops)
            throws IOException {
        String text = "{\n"
                + field("backend", quote(id)) + field("dtype", quote(dtype.toString()))
                + field("tokens", tokens) + field("heads", heads) + field("kv_heads", kvHeads)
                + field("head_dim", headDim) + field("block", block) + field("top_k", topK)
                + field("threads", threads == null ? "null" : threads)
                + field("processors", Runtime.getRuntime().availableProcessors())
                + field("moba_pairs", workload.mobaPairs()) + field("moba_runs_ms", list(moba))
                + field("moba_ms", format(PrefillBench.median(moba))) + field("moba_gflops", format(gflops))
                + (full.isEmpty() ? "" : field("dense_pairs", workload.densePairs())
                        + field("dense_runs_ms", list(full))
                        + field("dense_ms", format(PrefillBench.median(full)))
                        + field("speedup", format(PrefillBench.median(full) / PrefillBench.median(moba))))
                + "  \"java\": " + quote(System.getProperty("java.version")) + "\n}\n";
        Files.writeString(json, text);
    }

    private static String field(String name, Object value) {
        return "  \"" + name + "\": " + value + ",\n";
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String list(List<Double> values) {
        return values.stream().map(BenchCommand::format).collect(Collectors.joining(", ", "[", "]"));
    }
}
