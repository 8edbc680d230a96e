package dev.moba.cli;

import dev.moba.attention.MobaAttention;
import dev.moba.attention.VarlenBatch;
import dev.moba.config.AttentionMode;
import dev.moba.config.MobaConfig;
import dev.moba.io.ArrayFiles;
import dev.moba.io.ArraySpec;
import dev.moba.io.ElementType;
import dev.moba.io.OutputFiles;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moba run}: reads q, k, v (and cu_seqlens) from a safetensors file or a folder of {@code .npy} files, runs
 * MoBA over each sequence on the synchronous core, as {@code verify}'s core path does, and writes {@code out} (and
 * {@code lse}, {@code selection}) in the same kind of container. Inputs are mapped, not read onto the heap; outputs
 * are written through mapped temporary files moved into place at the end, so an error leaves no output behind.
 * Exit status 0 when the output was written, 2 for unusable input (1 is {@code verify}'s failed case).
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false, usageHelpWidth = 100,
        description = {
            "Run MoBA on q, k, v (and cu_seqlens) from a safetensors file or a folder of .npy files, and write the"
                    + " output (and lse, selection) in the same kind of container.",
            "",
            "A path ending in .safetensors is a safetensors file (as safetensors.torch.save_file writes); any other"
                    + " path is a folder of NAME.npy files (as numpy.save writes). --in and --out follow this rule"
                    + " each, so the two may differ."},
        footer = {
            "",
            "Input:",
            "  q           [tokens, q_heads, head_dim]   F32, BF16 or F16 (.npy: <f4 or <f2)",
            "  k, v        [tokens, kv_heads, head_dim]  q_heads a multiple of kv_heads",
            "  cu_seqlens  [sequences + 1] I32 or I64, optional: sequence i is tokens cu_seqlens[i] to",
            "              cu_seqlens[i+1]-1, as in varlen attention; without it, one sequence",
            "Output:",
            "  out         [tokens, q_heads, head_dim] F32",
            "  lse         [tokens, q_heads] F32, with --lse: natural log of the sum of exp(scale * q.k)",
            "              over the keys the query read",
            "  selection   [tokens, q_heads, slots] I32, with --selection: the blocks each query read,",
            "              numbered within its sequence, ascending (its own block last), then -1;",
            "              slots = top-k, or the blocks of the longest sequence when fewer",
            "",
            "Exit status:",
            "  0  the output was written",
            "  1  not used by run (verify exits 1 when a case fails)",
            "  2  unusable input, option or output path: the message names the file, the problem and",
            "     the fix; nothing is written",
            "",
            "Examples:",
            "  bin/moba run --in layer.safetensors --out layer-out.safetensors",
            "  bin/moba run --in qkv/ --out result/ --block 128 --top-k 4 --lse --selection",
            "  bin/moba run --in layer.safetensors --out out.safetensors --dtype bf16 --chunk 4096"})
final class RunCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--in", required = true, paramLabel = "PATH",
            description = "Input: a .safetensors file, or a folder holding q.npy, k.npy, v.npy (and cu_seqlens.npy).")
    private Path in;

    @Option(names = "--out", required = true, paramLabel = "PATH",
            description = "Output: a .safetensors file, or a folder (created if missing) that gets out.npy, and"
                    + " lse.npy, selection.npy when asked. Existing files are replaced once all is computed.")
    private Path out;

    @Mixin
    private SelectionFlags blocks;

    @Option(names = "--scale", paramLabel = "S", description = "Softmax scale (default: 1/sqrt(head_dim)).")
    private Float scale;

    @Option(names = "--dtype", paramLabel = "TYPE", converter = DTypeConverter.class,
            description = "Storage type: fp32, bf16 or fp16 (default: the input's type, fp32 when q, k, v differ).")
    private DType dtype;

    @Option(names = "--chunk", paramLabel = "N", defaultValue = "0",
            description = "Feed each sequence in chunks of N tokens (default: whole sequences): the same result,"
                    + " with the working memory of N tokens.")
    private int chunk;

    @Option(names = "--lse", description = "Also write lse [tokens, q_heads].")
    private boolean lse;

    @Option(names = "--selection", description = "Also write selection [tokens, q_heads, slots].")
    private boolean selection;

    @Mixin
    private BackendFlags backend;

    @Override
    public Integer call() throws IOException {
        requireOptions();
        requireInputPath();
        long started = System.nanoTime();
        PrintWriter console = spec.commandLine().getOut();
        try (Arena mapped = Arena.ofShared()) {
            RunInput input = RunInput.of(in, ArrayFiles.map(in, List.of("q", "k", "v", RunInput.CU_SEQLENS),
                    mapped));
            DType storage = dtype != null ? dtype : input.commonDtype();
            int block = blocks.block();
            int topK = blocks.topK();
            var config = new MobaConfig(block, topK, scale == null ? Float.NaN : scale, storage, AttentionMode.MOBA);
            int slots = (int) Math.min(topK, ((long) input.longestSequence() + block - 1) / block);
            try (Backend opened = backend.open();
                 OutputFiles output = new OutputFiles();
                 MobaAttention layer = new MobaAttention(config, input.layout(), opened)) {
                Map<String, MemorySegment> arrays = ArrayFiles.create(output, out, specs(input, slots),
                        metadata(config, input, opened.id()));
                var writer = new ResultWriter(input.layout().qHeads(), block, slots, arrays.get("out"),
                        arrays.get("lse"), arrays.get("selection"));
                try {
                    VarlenBatch.run(layer, input.cuSeqlens(), input.q(), input.k(), input.v(), chunk, writer);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(in + ": " + e.getMessage(), e);
                }
                output.commit();
                console.printf(Locale.ROOT, "run: wrote %s (%s): %d tokens in %d sequences, %d/%d heads, dim %d,"
                                + " block %d, top-%d, %s on %s, %.0f ms%n", out, String.join(", ", arrays.keySet()),
                        input.tokens(), input.sequences(), input.layout().qHeads(), input.layout().kvHeads(),
                        input.layout().headDim(), block, topK, storage, opened.id(),
                        (System.nanoTime() - started) / 1e6);
            }
        }
        return 0;
    }

    private void requireOptions() {
        blocks.check();
        OptionChecks.requireAtLeast("--chunk", chunk, 0, "e.g. --chunk 4096, or 0 (the default) for whole sequences");
        if (scale != null && !(scale > 0 && Float.isFinite(scale))) {
            throw new IllegalArgumentException("--scale must be a positive number, got " + scale
                    + "; leave it out for 1/sqrt(head_dim)");
        }
    }

    private void requireInputPath() {
        if (!Files.exists(in)) {
            throw new IllegalArgumentException(in + " does not exist: check --in (a .safetensors file, or a folder"
                    + " holding q.npy, k.npy and v.npy)");
        }
        boolean safetensors = ArrayFiles.Format.of(in) == ArrayFiles.Format.SAFETENSORS;
        if (safetensors ? !Files.isRegularFile(in) : !Files.isDirectory(in)) {
            throw new IllegalArgumentException(in + " is neither a .safetensors file nor a folder: name a file"
                    + " ending in .safetensors, or a folder holding q.npy, k.npy and v.npy");
        }
    }

    private List<ArraySpec> specs(RunInput input, int slots) {
        long tokens = input.tokens();
        long heads = input.layout().qHeads();
        List<ArraySpec> specs = new ArrayList<>();
        specs.add(new ArraySpec("out", ElementType.F32, new long[] {tokens, heads, input.layout().headDim()}));
        if (lse) {
            specs.add(new ArraySpec("lse", ElementType.F32, new long[] {tokens, heads}));
        }
        if (selection) {
            specs.add(new ArraySpec("selection", ElementType.I32, new long[] {tokens, heads, slots}));
        }
        return specs;
    }

    private static Map<String, String> metadata(MobaConfig config, RunInput input, String backendId) {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("block_size", Integer.toString(config.blockSize()));
        metadata.put("top_k", Integer.toString(config.topK()));
        metadata.put("scale", Float.toString(config.scaleFor(input.layout().headDim())));
        metadata.put("dtype", config.dtype().toString());
        metadata.put("backend", backendId);
        return metadata;
    }
}
