package dev.moba.cli;

import static dev.moba.cli.CliRun.moba;
import static dev.moba.testing.SafetensorsFiles.f32;
import static dev.moba.testing.SafetensorsFiles.i32;
import static dev.moba.testing.SafetensorsFiles.zeros;
import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.moba.engine.MobaEngine;
import dev.moba.io.ElementType;
import dev.moba.io.Safetensors;
import dev.moba.io.StoredArray;
import dev.moba.io.Npy;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.GoldenCases;
import dev.moba.testing.NpyFiles;
import dev.moba.testing.SafetensorsFiles;
import dev.moba.testing.TestBackends;
import dev.moba.verify.CorePath;
import dev.moba.verify.GoldenCase;
import dev.moba.verify.StreamPath;
import dev.moba.verify.Tolerance;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {

    /** The golden varlen case: three sequences (300, 700, 1024 tokens), 2 heads of 64, block 128, top-2. */
    private static final String CASE = "varlen-batch";
    private static final String[] SETTINGS = {"--block", "128", "--top-k", "2", "--backend", "java", "--threads", "2"};

    @TempDir
    Path dir;

    private Path inputs;
    private Path outputs;

    @BeforeEach
    void folders() throws IOException {
        inputs = Files.createDirectory(dir.resolve("in"));
        outputs = Files.createDirectory(dir.resolve("out"));
    }

    @Test
    void roundTripsAVarlenSafetensorsFileAndEqualsVerifysComputation() throws IOException {
        try (Arena arena = Arena.ofShared()) {
            GoldenCase c = GoldenCases.load(CASE, DType.FP32, arena);
            Path in = SafetensorsFiles.write(inputs.resolve("layer.safetensors"), SafetensorsFiles.of(List.of(
                    f32("q", shape(c.q()), c.q().toFloatArray()), f32("k", shape(c.k()), c.k().toFloatArray()),
                    f32("v", shape(c.v()), c.v().toFloatArray()), i32("cu_seqlens", c.cuSeqlens()))));
            Path out = outputs.resolve("result.safetensors");

            CliRun run = moba(args("--in", in.toString(), "--out", out.toString(), "--lse", "--selection"));

            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.out().getLast()).startsWith("run: wrote " + out + " (out, lse, selection): 2024 tokens in"
                    + " 3 sequences, 2/2 heads, dim 64, block 128, top-2, fp32 on java, ");
            Map<String, StoredArray> result = Safetensors.map(out, arena);
            assertThat(result.keySet()).containsExactly("out", "lse", "selection");
            float[] actual = result.get("out").asTensor().toFloatArray();
            assertThat(Errors.maxAbs(actual, c.expected().toFloatArray()))
                    .isLessThanOrEqualTo(Tolerance.of(DType.FP32).maxAbs());
            float[] core = new CorePath(TestBackends.FORK_JOIN, DType.FP32, 0).output(c, arena).toFloatArray();
            assertThat(Errors.maxAbs(actual, core)).isLessThanOrEqualTo(1e-6);
            try (MobaEngine engine = MobaEngine.create(ConfigFactory.load(), TestBackends.FORK_JOIN)) {
                float[] stream = new StreamPath(engine, DType.FP32, 0).output(c, arena).toFloatArray();
                assertThat(Errors.maxAbs(actual, stream)).as("verify's path").isLessThanOrEqualTo(1e-6);
            }
            assertThat(result.get("lse").shape()).containsExactly(2024, 2);
            assertThat(result.get("selection").type()).isEqualTo(ElementType.I32);
            assertThat(result.get("selection").shape()).containsExactly(2024, 2, 2);
            int[] selection = result.get("selection").data().toArray(ValueLayout.JAVA_INT);
            // token 0 reads its own block only; token 300 is position 0 of the second sequence, likewise
            assertThat(Arrays.copyOfRange(selection, 0, 2)).containsExactly(0, -1);
            assertThat(Arrays.copyOfRange(selection, 300 * 4, 300 * 4 + 2)).containsExactly(0, -1);
            // the last token of the third sequence (position 1023, block 7) reads one earlier block and its own
            int last = 2023 * 4;
            assertThat(selection[last]).isBetween(0, 6);
            assertThat(selection[last + 1]).isEqualTo(7);
        }
        assertNothingElseIn(outputs, "result.safetensors");
    }

    @Test
    void aFolderOfNpyFilesGivesTheSameResultInChunks() throws IOException {
        Path first = outputs.resolve("whole.safetensors");
        Path npy = outputs.resolve("chunked");
        try (Arena arena = Arena.ofShared()) {
            GoldenCase c = GoldenCases.load(CASE, DType.FP32, arena);
            NpyFiles.write(inputs.resolve("q.npy"), new int[] {2024, 2, 64}, c.q().toFloatArray());
            NpyFiles.write(inputs.resolve("k.npy"), new int[] {2024, 2, 64}, c.k().toFloatArray());
            NpyFiles.write(inputs.resolve("v.npy"), new int[] {2024, 2, 64}, c.v().toFloatArray());
            writeCuSeqlens(inputs.resolve("cu_seqlens.npy"), c.cuSeqlens());

            assertThat(moba(args("--in", inputs.toString(), "--out", first.toString())).status()).isZero();
            CliRun run = moba(args("--in", inputs.toString(), "--out", npy.toString(), "--chunk", "100", "--lse",
                    "--selection"));

            assertThat(run.status()).as(run.err()).isZero();
            assertNothingElseIn(npy, "out.npy", "lse.npy", "selection.npy");
            float[] whole = Safetensors.map(first, arena).get("out").asTensor().toFloatArray();
            float[] chunked = Npy.map(npy.resolve("out.npy"), "out", arena).asTensor().toFloatArray();
            assertThat(Errors.maxAbs(chunked, whole)).isLessThanOrEqualTo(1e-6);
            assertThat(Npy.map(npy.resolve("lse.npy"), "lse", arena).shape()).containsExactly(2024, 2);
            assertThat(Npy.map(npy.resolve("selection.npy"), "selection", arena).type()).isEqualTo(ElementType.I32);
        }
    }

    @Test
    void bf16InputRunsInBf16() throws IOException {
        try (Arena arena = Arena.ofShared()) {
            GoldenCase c = GoldenCases.load("gqa", DType.BF16, arena);
            Path in = SafetensorsFiles.write(inputs.resolve("bf16.safetensors"), SafetensorsFiles.of(List.of(
                    SafetensorsFiles.bf16("q", shape(c.q()), rounded(c.q())),
                    SafetensorsFiles.bf16("k", shape(c.k()), rounded(c.k())),
                    SafetensorsFiles.bf16("v", shape(c.v()), rounded(c.v())))));
            Path out = outputs.resolve("bf16-out.safetensors");
            CliRun run = moba("run", "--in", in.toString(), "--out", out.toString(), "--block",
                    Integer.toString(c.blockSize()), "--top-k", Integer.toString(c.topK()), "--backend", "java");
            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.out().getLast()).contains(", bf16 on java, ");
            float[] actual = Safetensors.map(out, arena).get("out").asTensor().toFloatArray();
            float[] expected = c.expected().toFloatArray();
            assertThat(Tolerance.of(DType.BF16).accepts(Errors.maxAbs(actual, expected),
                    Errors.meanAbs(actual, expected))).isTrue();
        }
    }

    @Test
    void readsAnInputLargerThanTheHeapThroughTheMapping() throws IOException {
        long filler = Math.max(2 * Runtime.getRuntime().maxMemory(), 16L << 30);
        float[] q = {1f, 0f, 0f, 1f};
        byte[] head = SafetensorsFiles.of(List.of(f32("q", new long[] {2, 1, 2}, q), f32("k", new long[] {2, 1, 2}, q),
                f32("v", new long[] {2, 1, 2}, new float[] {1f, 2f, 3f, 4f}),
                zeros("filler", "U8", new long[] {filler}, 0)));
        // The filler's header entry claims [48, 48 + filler): rewrite its end, then grow the file sparsely.
        String text = new String(head, 8, head.length - 8 - 48).replace("[48,48]", "[48," + (48 + filler) + "]");
        byte[] file = SafetensorsFiles.withHeader(text.strip(), Arrays.copyOfRange(head, head.length - 48,
                head.length));
        Path in = SafetensorsFiles.write(inputs.resolve("big.safetensors"), file);
        try (RandomAccessFile raf = new RandomAccessFile(in.toFile(), "rw")) {
            raf.setLength(file.length + filler);
        }
        Path out = outputs.resolve("small.safetensors");
        CliRun run = moba("run", "--in", in.toString(), "--out", out.toString(), "--backend", "java");
        assertThat(run.status()).as(run.err()).isZero();
        try (Arena arena = Arena.ofConfined()) {
            float[] o = Safetensors.map(out, arena).get("out").asTensor().toFloatArray();
            // token 0 reads only v[0]; token 1 reads v[0] and v[1]
            assertThat(o[0]).isEqualTo(1f);
            assertThat(o[1]).isEqualTo(2f);
            assertThat(o[2]).isBetween(1f, 3f);
        }
    }

    @Test
    void aMissingOrUnnamedInputIsUnusable() throws IOException {
        assertUnusable(List.of("--in", dir.resolve("nowhere.safetensors").toString()),
                dir.resolve("nowhere.safetensors") + " does not exist: check --in");
        Path text = Files.writeString(inputs.resolve("qkv.txt"), "q k v");
        assertUnusable(List.of("--in", text.toString()),
                text + " is neither a .safetensors file nor a folder: name a file ending in .safetensors");
        assertUnusable(List.of("--in", inputs.toString()), inputs.resolve("q.npy") + " is missing: store q as"
                + " [tokens, q_heads, head_dim], k and v as [tokens, kv_heads, head_dim] under the names q, k, v");
    }

    @Test
    void aWrongDtypeIsUnusable() throws IOException {
        Path in = safetensors(List.of(zeros("q", "F64", new long[] {4, 2, 8}, 4 * 2 * 8 * 8), tensor("k", 4, 2, 8),
                tensor("v", 4, 2, 8)));
        assertUnusable(List.of("--in", in.toString()), in + ": q is F64; q, k and v must be F32, BF16 or F16:"
                + " convert with .float(), .bfloat16() or .half() before saving");
        NpyFiles.write(inputs.resolve("k.npy"), new int[] {4, 2, 8}, new float[64]);
        NpyFiles.write(inputs.resolve("v.npy"), new int[] {4, 2, 8}, new float[64]);
        Files.write(inputs.resolve("q.npy"), NpyFiles.withHeader(
                "{'descr': '<i8', 'fortran_order': False, 'shape': (4, 2, 8), }", new byte[4 * 2 * 8 * 8]));
        assertUnusable(List.of("--in", inputs.toString()), inputs + ": q is I64; q, k and v must be F32");
        Path cu = safetensors(List.of(tensor("q", 4, 2, 8), tensor("k", 4, 2, 8), tensor("v", 4, 2, 8),
                f32("cu_seqlens", new long[] {2}, new float[] {0, 4})));
        assertUnusable(List.of("--in", cu.toString()), cu + ": cu_seqlens is F32 [2], not a one-dimensional I32 or"
                + " I64 array: save the boundaries as torch.tensor([0, len0, len0 + len1, ...], dtype=torch.int32)");
    }

    @Test
    void aTruncatedOrMalformedFileIsUnusable() throws IOException {
        byte[] whole = SafetensorsFiles.of(List.of(tensor("q", 4, 2, 8), tensor("k", 4, 2, 8), tensor("v", 4, 2, 8)));
        Path cut = SafetensorsFiles.write(inputs.resolve("cut.safetensors"), Arrays.copyOf(whole, whole.length - 3));
        assertUnusable(List.of("--in", cut.toString()), cut + ": tensor 'v' ends at data byte 768 but the file holds"
                + " only 765 data bytes; the file is truncated: save it again with safetensors.torch.save_file");
        Path header = SafetensorsFiles.write(inputs.resolve("header.safetensors"), Arrays.copyOf(whole, 40));
        assertUnusable(List.of("--in", header.toString()), header + ": header length ");
        Path json = SafetensorsFiles.write(inputs.resolve("json.safetensors"),
                SafetensorsFiles.withHeader("{\"q\": {\"dtype\" \"F32\"}}", new byte[0]));
        assertUnusable(List.of("--in", json.toString()), json + ": malformed header (JSON: expected ':' at offset");
        Path npy = Files.createDirectory(inputs.resolve("npy"));
        byte[] q = NpyFiles.float32(new int[] {4, 2, 8}, new float[64]);
        Files.write(npy.resolve("q.npy"), Arrays.copyOf(q, 50));
        assertUnusable(List.of("--in", npy.toString()), npy.resolve("q.npy") + ": truncated header: write the file"
                + " again with numpy.save");
    }

    @Test
    void aMissingTensorIsUnusable() throws IOException {
        Path in = safetensors(List.of(tensor("q", 4, 2, 8), tensor("v", 4, 2, 8)));
        assertUnusable(List.of("--in", in.toString()), in + " has no tensor 'k' (it holds q, v): store q as [tokens,"
                + " q_heads, head_dim], k and v as [tokens, kv_heads, head_dim] under the names q, k, v");
    }

    @Test
    void shapesThatDisagreeAreUnusable() throws IOException {
        Path tokens = safetensors(List.of(tensor("q", 4, 2, 8), tensor("k", 5, 2, 8), tensor("v", 4, 2, 8)));
        assertUnusable(List.of("--in", tokens.toString()), tokens + ": q, k and v must have the same number of"
                + " tokens, got 4, 5 and 4: export all three for the same tokens");
        Path dims = safetensors(List.of(tensor("q", 4, 2, 8), tensor("k", 4, 2, 16), tensor("v", 4, 2, 8)));
        assertUnusable(List.of("--in", dims.toString()), dims + ": q, k and v must have the same head_dim, got 8, 16"
                + " and 8");
        Path heads = safetensors(List.of(tensor("q", 4, 3, 8), tensor("k", 4, 2, 8), tensor("v", 4, 2, 8)));
        assertUnusable(List.of("--in", heads.toString()), heads + ": q_heads (3) must be a multiple of kv_heads (2):"
                + " check that q is [tokens, q_heads, head_dim] and k, v are [tokens, kv_heads, head_dim]");
        Path rank = safetensors(List.of(f32("q", new long[] {4, 16}, new float[64]), tensor("k", 4, 2, 8),
                tensor("v", 4, 2, 8)));
        assertUnusable(List.of("--in", rank.toString()), rank + ": q has shape [4, 16], not [tokens, q_heads,"
                + " head_dim]: reshape it to three dimensions, e.g. x.view(tokens, q_heads, head_dim)");
    }

    @Test
    void boundariesThatDoNotFitAreUnusable() throws IOException {
        Path unordered = safetensors(List.of(tensor("q", 4, 2, 8), tensor("k", 4, 2, 8), tensor("v", 4, 2, 8),
                i32("cu_seqlens", 0, 3, 2, 4)));
        assertUnusable(List.of("--in", unordered.toString()), unordered + ": cu_seqlens must increase strictly, got"
                + " 3 then 2 at index 2: cu_seqlens holds the sequence boundaries [0, len0, len0 + len1, ..., tokens]");
        Path shortEnd = safetensors(List.of(tensor("q", 4, 2, 8), tensor("k", 4, 2, 8), tensor("v", 4, 2, 8),
                i32("cu_seqlens", 0, 3)));
        assertUnusable(List.of("--in", shortEnd.toString()), shortEnd + ": cu_seqlens must end at the number of"
                + " tokens, 4, got 3");
    }

    @Test
    void aValueTheEngineRefusesLeavesNoOutput() throws IOException {
        float[] q = new float[64];
        q[17] = Float.NaN;
        Path in = safetensors(List.of(f32("q", new long[] {4, 2, 8}, q), tensor("k", 4, 2, 8), tensor("v", 4, 2, 8)));
        assertUnusable(List.of("--in", in.toString(), "--lse", "--selection"), in + ": q holds NaN at [token 1,"
                + " head 0, dim 1]: q, k and v must be finite");
    }

    @Test
    void anOutputThatCannotBeWrittenIsUnusable() throws IOException {
        Path in = safetensors(List.of(tensor("q", 4, 2, 8), tensor("k", 4, 2, 8), tensor("v", 4, 2, 8)));
        Path file = Files.writeString(outputs.resolve("a-file"), "x");
        CliRun run = moba("run", "--in", in.toString(), "--out", file.resolve("out.safetensors").toString());
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).startsWith("moba: cannot write " + file.resolve("out.safetensors") + " (")
                .contains("): choose a place you can write to");
        CliRun folder = moba("run", "--in", in.toString(), "--out", file.resolve("npy").toString());
        assertThat(folder.status()).isEqualTo(2);
        assertThat(folder.err()).startsWith("moba: cannot write " + file.resolve("npy") + " (");
        assertNothingElseIn(outputs, "a-file");
    }

    @Test
    void badOptionsAreUnusable() throws IOException {
        Path in = safetensors(List.of(tensor("q", 4, 2, 8), tensor("k", 4, 2, 8), tensor("v", 4, 2, 8)));
        assertUnusable(List.of("--in", in.toString(), "--block", "0"), "--block must be >= 1, got 0");
        assertUnusable(List.of("--in", in.toString(), "--chunk", "-1"), "--chunk must be >= 0, got -1; ");
        assertUnusable(List.of("--in", in.toString(), "--dtype", "fp8"), "fp8");
        CliRun noIn = moba("run", "--out", outputs.resolve("x.safetensors").toString());
        assertThat(noIn.status()).isEqualTo(2);
        assertThat(noIn.err()).contains("--in");
    }

    @Test
    void helpShowsFormatsExitStatusAndExamples() {
        CliRun run = moba("run", "--help");
        assertThat(run.status()).isZero();
        assertThat(String.join("\n", run.out())).contains("--in", "--out", "--lse", "--selection", "--chunk",
                "cu_seqlens", "Exit status:", "  2  unusable input", "Examples:", "bin/moba run --in");
        assertThat(String.join("\n", moba("--help").out())).contains("run");
    }

    /** Runs {@code run} with {@code options} and an output in {@link #outputs}; expects status 2 and no output. */
    private void assertUnusable(List<String> options, String message) throws IOException {
        List<String> args = new ArrayList<>(List.of("run", "--out", outputs.resolve("out.safetensors").toString()));
        args.addAll(options);
        args.addAll(List.of("--backend", "java"));
        CliRun run = moba(args.toArray(String[]::new));
        assertThat(run.status()).as(run.err()).isEqualTo(2);
        assertThat(run.err()).contains(message);
        assertNothingElseIn(outputs);
    }

    private static void assertNothingElseIn(Path folder, String... names) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no output or temporary file")
                    .containsExactlyInAnyOrder(names);
        }
    }

    private Path safetensors(List<SafetensorsFiles.Entry> entries) {
        try (Stream<Path> files = Files.list(inputs)) {
            return SafetensorsFiles.write(inputs.resolve("in" + files.count() + ".safetensors"),
                    SafetensorsFiles.of(entries));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static SafetensorsFiles.Entry tensor(String name, int tokens, int heads, int dim) {
        float[] values = new float[tokens * heads * dim];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) Math.sin(i);
        }
        return f32(name, new long[] {tokens, heads, dim}, values);
    }

    private static String[] args(String... options) {
        List<String> all = new ArrayList<>(List.of("run"));
        all.addAll(List.of(options));
        all.addAll(List.of(SETTINGS));
        return all.toArray(String[]::new);
    }

    private static long[] shape(Tensor t) {
        return new long[] {t.tokens(), t.heads(), t.dim()};
    }

    private static float[] rounded(Tensor t) {
        float[] values = t.toFloatArray();
        DType.BF16.roundInPlace(values);
        return values;
    }

    private static void writeCuSeqlens(Path file, int[] bounds) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(bounds.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : bounds) b.putInt(x);
        Files.write(file, NpyFiles.withHeader("{'descr': '<i4', 'fortran_order': False, 'shape': (" + bounds.length
                + ",), }", b.array()));
    }
}
