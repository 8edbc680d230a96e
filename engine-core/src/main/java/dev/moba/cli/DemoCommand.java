package dev.moba.cli;

import com.typesafe.config.Config;
import dev.moba.backend.BackendChoice;
import dev.moba.backend.Backends;
import dev.moba.demo.Comparison;
import dev.moba.demo.DemoResult;
import dev.moba.demo.DemoRun;
import dev.moba.demo.DemoSpec;
import dev.moba.engine.MobaEngine;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.verify.Tolerance;
import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moba demo}: streams a synthetic long document with recurring topics through an embedded engine (prefill
 * chunks, then decode steps, every layer) and prints the backend and why, prefill and decode speed, sparsity, the
 * error against exact MoBA and the difference from dense attention on sampled rows, the peak off-heap memory and
 * where the heat map of the selected blocks went. Progress goes to standard error.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Stream a synthetic long document through the engine and show what MoBA does with it.",
                "Prints the backend and why, speed, sparsity, exactness and memory, and writes a PNG heat map of the"
                        + " blocks the queries selected. The defaults take about a minute on two cores."},
        footerHeading = "%nExamples:%n",
        footer = {"  moba demo                                   the default document (65,536 tokens, 4 layers)",
                "  moba demo --tokens 16384 --layers 2         a quicker run",
                "  moba demo --backend java --dtype bf16       the pure-Java backend, bf16 storage",
                "  moba demo --block 256 --top-k 4 --out /tmp/moba   other MoBA settings, heat map in /tmp/moba"},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:done, and the sampled rows match exact MoBA within the dtype's tolerance",
                "1:done, but a sampled row is off exact MoBA by more than the tolerance",
                "2:unusable options or environment (the message names the problem and the fix)"})
final class DemoCommand implements Callable<Integer> {

    /** Larger maps make a PNG nobody can read; raise the block size instead. */
    static final int MAX_BLOCKS = 2048;

    @Spec
    private CommandSpec spec;

    @Option(names = "--tokens", defaultValue = "65536", description = "Tokens of the document, prefilled (default: ${DEFAULT-VALUE}).")
    private int tokens;

    @Option(names = "--layers", defaultValue = "4", description = "Layers (default: ${DEFAULT-VALUE}).")
    private int layers;

    @Mixin
    private AttentionFlags attention;

    @Option(names = "--chunk", defaultValue = "4096", description = "Prefill chunk in tokens (default: ${DEFAULT-VALUE}).")
    private int chunk;

    @Option(names = "--decode", defaultValue = "256", description = "Decode steps of one token after the prefill (default: ${DEFAULT-VALUE}).")
    private int decode;

    @Option(names = "--dtype", defaultValue = "fp32", converter = DTypeConverter.class,
            description = "Storage type: fp32, bf16 or fp16 (default: ${DEFAULT-VALUE}).")
    private DType dtype;

    @Mixin
    private BackendFlags backend;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the synthetic document (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "moba-demo",
            description = "Folder for the heat map, created if missing (default: ${DEFAULT-VALUE}).")
    private Path out;

    @Override
    public Integer call() {
        DemoSpec demo = demoSpec();
        Path heatMap = writableFolder(out).resolve("selection.png");
        Config config = backend.config();
        BackendChoice choice;
        try {
            choice = Backends.select(config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + "; choose one with --backend NAME (or auto)", e);
        }
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.printf(Locale.ROOT, "demo: %,d tokens + %,d decode steps, %d layers, %d/%d heads, dim %d, block %d,"
                        + " top-%d, chunk %,d, %s, seed %d%n", tokens, decode, layers, demo.layout().qHeads(),
                demo.layout().kvHeads(), demo.layout().headDim(), demo.blockSize(), demo.topK(), chunk, dtype, seed);
        stdout.printf(Locale.ROOT, "backend: %s (%s)%n", choice.provider().id(), choice.how());
        for (BackendChoice.PassedOver other : choice.passedOver()) {
            stdout.printf(Locale.ROOT, "  passed over %s: %s%n", other.id(), other.reason());
        }
        stdout.flush();
        DemoResult result;
        try (Backend opened = Backends.create(choice, config);
             MobaEngine engine = MobaEngine.create(config, opened)) {
            result = new DemoRun(demo, engine, opened, spec.commandLine().getErr(), onTerminal()).run(heatMap);
        }
        print(stdout, result);
        Comparison c = result.comparison();
        return Tolerance.of(dtype).accepts(c.maxVsExact(), c.meanVsExact()) ? 0 : 1;
    }

    private void print(PrintWriter stdout, DemoResult r) {
        stdout.printf(Locale.ROOT, "prefill: %d tokens in %.2f s, %.0f tokens/s (%d layers, chunks of %d)%n",
                r.prefill().tokens(), r.prefill().seconds(), r.prefill().tokensPerSecond(), layers, chunk);
        stdout.printf(Locale.ROOT, "decode: %d tokens in %.2f s, %.1f tokens/s, %.2f ms/token (%d layers)%n",
                r.decode().tokens(), r.decode().seconds(), r.decode().tokensPerSecond(),
                r.decode().tokens() == 0 ? 0 : 1e3 * r.decode().seconds() / r.decode().tokens(), layers);
        stdout.printf(Locale.ROOT, "sparsity: %.4f of causal query-key pairs skipped (%,d of %,d attended);"
                        + " %.1f%% of selected history blocks are on the query's topic%n",
                r.sparsity().skipped(), r.sparsity().attended(), r.sparsity().causal(), 100 * r.onTopicShare());
        Comparison c = r.comparison();
        stdout.printf(Locale.ROOT, "error vs exact MoBA: max %.3e, mean %.3e (%d sampled rows, fp64 reference, %d"
                + " within rounding of a top-k tie)%n", c.maxVsExact(), c.meanVsExact(), c.rows(), c.tiedRows());
        stdout.printf(Locale.ROOT, "difference vs dense: max %.3e, mean %.3e (same rows, fp64 dense causal"
                + " attention)%n", c.maxVsDense(), c.meanVsDense());
        stdout.printf(Locale.ROOT, "peak off-heap: %.1f MiB (KV blocks and block means)%n",
                r.peakOffHeapBytes() / (1024.0 * 1024.0));
        stdout.printf(Locale.ROOT, "heat map: %s (query block x key block, per layer)%n", r.heatMap());
        stdout.flush();
    }

    private DemoSpec demoSpec() {
        OptionChecks.requireAtLeast("--tokens", tokens, 1, "the document needs at least one token, e.g. --tokens 65536");
        OptionChecks.requireAtLeast("--decode", decode, 0, "use --decode 0 for no decode steps");
        OptionChecks.requireAtLeast("--layers", layers, 1, "e.g. --layers 4");
        OptionChecks.requireAtLeast("--chunk", chunk, 1, "e.g. --chunk 4096");
        attention.check();
        int block = attention.block();
        if ((long) tokens + decode > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("--tokens + --decode must stay below " + Integer.MAX_VALUE / 2
                    + "; lower --tokens");
        }
        long blocks = ((long) tokens + decode + block - 1) / block;
        if (blocks > MAX_BLOCKS) {
            throw new IllegalArgumentException("--tokens + --decode span " + blocks + " blocks of --block " + block
                    + ", more than the " + MAX_BLOCKS + " the heat map draws; raise --block or lower --tokens");
        }
        return new DemoSpec(tokens, decode, layers, attention.layout(), block, attention.topK(), chunk,
                dtype, seed);
    }

    private static Path writableFolder(Path folder) {
        try {
            Files.createDirectories(folder);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("--out " + folder + ": cannot create the folder (" + e + ");"
                    + " pick a folder you can write to with --out DIR", e);
        }
        if (!Files.isWritable(folder)) {
            throw new IllegalArgumentException("--out " + folder + ": the folder is not writable;"
                    + " pick a folder you can write to with --out DIR");
        }
        return folder;
    }

    private static boolean onTerminal() {
        Console console = System.console();
        return console != null && console.isTerminal();
    }
}
