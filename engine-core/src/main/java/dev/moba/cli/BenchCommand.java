package dev.moba.cli;

import dev.moba.bench.PrefillBench;
import dev.moba.bench.PrefillPoint;
import dev.moba.bench.PrefillWorkload;
import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.io.OutputFiles;
import dev.moba.plot.SweepChart;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moba bench}: times a one-shot MoBA prefill of random data on a backend, and optionally dense causal
 * attention on the same backend and data, and reports the medians, the speedup and MoBA's effective GFLOP/s (the
 * {@code 4 * headDim} flops of every query-key pair MoBA attends, over its time). With {@code --sweep} it does so
 * at each of several lengths, and {@code --plot} draws the times against the lengths.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {"Time a MoBA prefill (and dense causal attention with --dense) on one backend, at one "
                + "length (--tokens) or several (--sweep).",
                "Each length ends with: bench: backend=<b> dtype=<t> tokens=<N> moba_ms=<x> dense_ms=<y> "
                + "speedup=<y/x> moba_gflops=<g>"},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:the bench ran and its files were written",
                "2:unusable input (a bad option, an unknown backend, a file that cannot be written), or a failure "
                        + "while timing; the message names it"},
        footerHeading = "%nExamples:%n",
        footer = {"  moba bench --tokens 32768 --dense",
                "  moba bench --backend java --dtype bf16 --tokens 131072 --threads 2 --json bench.json",
                "  moba bench --sweep 8192,32768,131072 --dense-runs 1 --plot sweep.png --json sweep.json"})
final class BenchCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Mixin
    private BackendFlags backend;

    @Option(names = "--dtype", defaultValue = "fp32", converter = DTypeConverter.class,
            description = "Storage type: fp32, bf16 or fp16 (default: ${DEFAULT-VALUE}).")
    private DType dtype;

    @ArgGroup(exclusive = true, multiplicity = "1")
    private Lengths lengths;

    @Mixin
    private AttentionFlags attention;

    @Option(names = "--dense", description = "Also time dense causal attention on the same backend and data.")
    private boolean dense;

    @Option(names = "--runs", defaultValue = "3", description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).")
    private int runs;

    @Option(names = "--dense-runs", description = "Timed dense runs (default: --runs); dense is slow at long contexts.")
    private Integer denseRuns;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed MoBA runs first, at each length (default: ${DEFAULT-VALUE}).")
    private int warmup;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random data (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON to FILE: every run's"
            + " time and the workload; with --sweep, a 'points' array with one entry per length.")
    private Path json;

    @Option(names = "--plot", paramLabel = "FILE.png", description = "With --sweep: draw MoBA's and dense"
            + " attention's times against the lengths (log-log) with the speedups, as a PNG. Times dense as"
            + " --dense does.")
    private Path plot;

    /** The lengths to time: exactly one of the two options, which picocli enforces with its own message. */
    static final class Lengths {

        @Option(names = "--tokens", required = true, paramLabel = "N", description = "Tokens of the prefilled sequence.")
        private Integer tokens;

        @Option(names = "--sweep", required = true, paramLabel = "N,N...", converter = TokenSweepConverter.class,
                description = "Comma-separated lengths to time one after the other, in increasing order, for"
                        + " example 8192,32768,131072.")
        private TokenSweep sweep;
    }

    @Override
    public Integer call() {
        List<Integer> tokenCounts = checkedLengths();
        attention.check();
        OptionChecks.requireAtLeast("--runs", runs, 1, "e.g. --runs 3");
        OptionChecks.requireAtLeast("--warmup", warmup, 0, "e.g. --warmup 1");
        if (denseRuns != null) {
            OptionChecks.requireAtLeast("--dense-runs", denseRuns, 1, "e.g. --dense-runs 1, or leave it out for --runs");
        }
        // Before the timing, which may take minutes: a file that cannot be written fails now.
        if (json != null) OutputFiles.check(json, "--json");
        if (plot != null) OutputFiles.check(plot, "--plot");
        PrintWriter out = spec.commandLine().getOut();
        HeadLayout layout = attention.layout();
        int block = attention.block();
        int topK = attention.topK();
        List<PrefillWorkload> workloads = tokenCounts.stream()
                .map(tokens -> new PrefillWorkload(tokens, layout, block, topK)).toList();
        try (Backend engine = backend.open()) {
            var setup = new BenchSetup(engine.id(), dtype, layout, block, topK, backend.threads());
            List<PrefillPoint> points = new ArrayList<>();
            for (PrefillWorkload workload : workloads) {
                points.add(measure(engine, workload, out));
            }
            boolean swept = lengths.sweep != null;
            if (json != null) {
                String text = swept ? BenchJson.sweep(setup, points) : BenchJson.single(setup, points.getFirst());
                OutputFiles.write(json, "--json", stream -> stream.write(text.getBytes(StandardCharsets.UTF_8)));
            }
            if (plot != null) {
                String title = "MoBA vs dense attention, prefill: " + setup.describe();
                OutputFiles.write(plot, "--plot", stream -> SweepChart.writePng(title, points, stream));
            }
            if (swept) {
                printTable(out, setup, points);
            }
        }
        return 0;
    }

    /** The lengths to time, in increasing order. */
    private List<Integer> checkedLengths() {
        if (lengths.tokens != null) {
            if (plot != null) {
                throw new IllegalArgumentException("--plot draws a sweep; give --sweep with two or more lengths"
                        + " (for example --sweep 8192,32768,131072) instead of --tokens");
            }
            OptionChecks.requireAtLeast("--tokens", lengths.tokens, 1, "e.g. --tokens 32768");
            return List.of(lengths.tokens);
        }
        List<Integer> swept = lengths.sweep.lengths();
        if (plot != null && swept.size() < 2) {
            throw new IllegalArgumentException("--plot needs two or more --sweep lengths to draw a curve, got "
                    + swept);
        }
        return swept;
    }

    /** Times one length as a one-length bench does, ending with its {@code bench:} line. */
    private PrefillPoint measure(Backend engine, PrefillWorkload workload, PrintWriter out) {
        boolean timeDense = dense || plot != null;
        HeadLayout layout = workload.layout();
        out.printf(Locale.ROOT, "bench: %d tokens, %d/%d heads, dim %d, block %d, top-%d, %s on %s%n",
                workload.tokens(), layout.qHeads(), layout.kvHeads(), layout.headDim(), workload.blockSize(),
                workload.topK(), dtype,
                engine.id());
        out.flush();
        PrefillPoint point;
        try (Arena data = Arena.ofShared()) {
            var bench = new PrefillBench(engine, workload, dtype, seed, data);
            List<Double> moba = bench.time(AttentionMode.MOBA, warmup, runs, line -> progress(out, line));
            // Dense reuses everything MoBA's warm-up created: the same kernels at the same shapes.
            List<Double> full = timeDense
                    ? bench.time(AttentionMode.FULL, 0, denseRuns == null ? runs : denseRuns,
                            line -> progress(out, line))
                    : List.of();
            point = new PrefillPoint(workload, moba, full);
        }
        out.printf(Locale.ROOT, "bench: backend=%s dtype=%s tokens=%d moba_ms=%s dense_ms=%s speedup=%s"
                + " moba_gflops=%s%n", engine.id(), dtype, workload.tokens(), format(point.mobaMs()),
                point.hasDense() ? format(point.denseMs()) : "-", point.hasDense() ? format(point.speedup()) : "-",
                format(point.mobaGflops()));
        out.flush();
        return point;
    }

    private static void printTable(PrintWriter out, BenchSetup setup, List<PrefillPoint> points) {
        out.println("sweep: " + setup.describe());
        out.printf(Locale.ROOT, "%10s %12s %12s %9s %12s%n", "tokens", "moba_ms", "dense_ms", "speedup",
                "moba_gflops");
        for (PrefillPoint point : points) {
            out.printf(Locale.ROOT, "%10d %12s %12s %9s %12s%n", point.tokens(), format(point.mobaMs()),
                    point.hasDense() ? format(point.denseMs()) : "-",
                    point.hasDense() ? format(point.speedup()) + "x" : "-", format(point.mobaGflops()));
        }
        out.flush();
    }

    private static void progress(PrintWriter out, String line) {
        out.println("  " + line);
        out.flush();
    }

    private static String format(double value) {
        return String.format(Locale.ROOT, "%.1f", value);
    }
}
