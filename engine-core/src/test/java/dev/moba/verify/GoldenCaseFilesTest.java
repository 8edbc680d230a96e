package dev.moba.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.tensor.DType;
import dev.moba.testing.GoldenCases;
import dev.moba.testing.NpyFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Loading case folders that are missing a file or hold a malformed one. */
class GoldenCaseFilesTest {

    private static final String NAME = "topk1-block-local"; // 512 tokens, 2 heads, dim 64

    @TempDir
    Path parent;
    private Path dir;

    @BeforeEach
    void copyCase() {
        dir = GoldenCases.copyTo(parent, NAME);
    }

    private GoldenCase load(DType dtype) {
        try (Arena arena = Arena.ofConfined()) {
            return GoldenCase.load(NAME, CaseFiles.folder(dir), dtype, arena);
        }
    }

    private void assertRefused(String message) {
        assertThatThrownBy(() -> load(DType.FP32)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    /** Replaces {@code from} (which must occur) in case.json. */
    private void editJson(String from, String to) throws IOException {
        Path json = dir.resolve("case.json");
        String text = Files.readString(json);
        assertThat(text).contains(from);
        Files.writeString(json, text.replace(from, to));
    }

    @Test
    void anIntactCopyLoads() {
        try (Arena arena = Arena.ofConfined()) {
            GoldenCase c = GoldenCase.load(NAME, CaseFiles.folder(dir), DType.BF16, arena);
            assertThat(c.cuSeqlens()).containsExactly(0, 512);
            assertThat(c.layout()).isEqualTo(new dev.moba.config.HeadLayout(2, 2, 64));
            assertThat(c.blockSize()).isEqualTo(128);
            assertThat(c.topK()).isEqualTo(1);
            assertThat(c.scale()).isEqualTo(0.125f);
            assertThat(c.expected().shapeText()).isEqualTo("[512, 2, 64]");
        }
    }

    @Test
    void missingCaseJson() throws IOException {
        Files.delete(dir.resolve("case.json"));
        assertRefused(NAME + ": case.json is missing");
    }

    @ParameterizedTest
    @CsvSource({"q.npy, fp32", "k.npy, fp32", "v.npy, bf16", "out.npy, fp32", "out_bf16.npy, bf16",
                "out_fp16.npy, fp16"})
    void missingTensorFile(String file, String dtype) throws IOException {
        Files.delete(dir.resolve(file));
        assertThatThrownBy(() -> load(DType.parse(dtype))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(NAME + ": " + file + " is missing");
    }

    @Test
    void onlyTheExpectedFileOfTheDtypeIsNeeded() throws IOException {
        Files.delete(dir.resolve("out_bf16.npy"));
        Files.delete(dir.resolve("out_fp16.npy"));
        assertThat(load(DType.FP32).name()).isEqualTo(NAME);
    }

    @Test
    void badMagic() throws IOException {
        byte[] bytes = Files.readAllBytes(dir.resolve("q.npy"));
        bytes[0] = 'X';
        Files.write(dir.resolve("q.npy"), bytes);
        assertRefused(NAME + "/q.npy: not a .npy file (bad magic string)");
    }

    @Test
    void float64Data() throws IOException {
        Files.write(dir.resolve("k.npy"), NpyFiles.withHeader(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (512, 2, 64), }", new byte[512 * 2 * 64 * 8]));
        assertRefused(NAME + "/k.npy: element type '<f8' is not little-endian float32 '<f4'");
    }

    @Test
    void shapeDisagreesWithCaseJson() {
        NpyFiles.write(dir.resolve("v.npy"), new int[] {512, 2, 32}, new float[512 * 2 * 32]);
        assertRefused(NAME + "/v.npy: shape [512, 2, 32] does not match case.json, which implies [512, 2, 64]");
        NpyFiles.write(dir.resolve("v.npy"), new int[] {511, 2, 64}, new float[511 * 2 * 64]);
        assertRefused(NAME + "/v.npy: shape [511, 2, 64] does not match");
    }

    @Test
    void truncatedData() throws IOException {
        byte[] bytes = Files.readAllBytes(dir.resolve("out.npy"));
        Files.write(dir.resolve("out.npy"), Arrays.copyOf(bytes, bytes.length - 6));
        assertRefused(NAME + "/out.npy: holds 262138 data bytes, shape [512, 2, 64] needs 262144");
    }

    @Test
    void jsonSyntaxError() throws IOException {
        editJson("\"top_k\": 1,", "\"top_k\": 1,,");
        assertRefused(NAME + "/case.json: JSON: expected a member name at offset");
    }

    @Test
    void caseJsonThatIsNotAnObject() throws IOException {
        Files.writeString(dir.resolve("case.json"), "[1, 2]");
        assertRefused(NAME + "/case.json: not a JSON object");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "\"top_k\": 1,|\"topk\": 1,|'top_k' is missing",
            "\"block_size\": 128,||'block_size' is missing",
            "\"q_heads\": 2,|\"q_heads\": 2.5,|'q_heads' must be a positive integer, got 2.5",
            "\"q_heads\": 2,|\"q_heads\": \"2\",|'q_heads' is not a number: 2",
            "\"kv_heads\": 2,|\"kv_heads\": 0,|'kv_heads' must be a positive integer, got 0.0",
            "\"head_dim\": 64,|\"head_dim\": -64,|'head_dim' must be a positive integer, got -64.0",
            "\"q_heads\": 2,|\"q_heads\": 3,|qHeads (3) must be a multiple of kvHeads (2)",
            "\"scale\": 0.125,|\"scale\": null,|'scale' is missing",
            "\"scale\": 0.125,|\"scale\": \"x\",|'scale' is not a number: x",
            "\"scale\": 0.125,|\"scale\": -0.5,|'scale' must be a positive finite number, got -0.5",
    })
    void malformedField(String from, String to, String message) throws IOException {
        editJson(from, to == null ? "" : to);
        assertRefused(NAME + "/case.json: " + message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[1, 512]|cu_seqlens must start at 0",
            "[0, 300, 200]|cu_seqlens must increase strictly, got 300 then 200",
            "[0, 0, 512]|cu_seqlens must increase strictly, got 0 then 0",
            "[0]|'cu_seqlens' must be a list of at least two boundaries",
            "[0, 2.5]|cu_seqlens[1] is not a non-negative integer: 2.5",
            "[0, 512, 1024]|q.npy: shape [512, 2, 64] does not match case.json, which implies [1024, 2, 64]",
    })
    void malformedBoundaries(String bounds, String message) throws IOException {
        String json = Files.readString(dir.resolve("case.json"));
        String replaced = json.replaceFirst("\"cu_seqlens\": \\[[^\\]]*\\]", "\"cu_seqlens\": " + bounds);
        assertThat(replaced).isNotEqualTo(json);
        Files.writeString(dir.resolve("case.json"), replaced);
        assertRefused(message);
    }
}
