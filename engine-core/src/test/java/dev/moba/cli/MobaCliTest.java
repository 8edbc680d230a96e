package dev.moba.cli;

import static dev.moba.cli.CliRun.moba;
import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.io.Npy;
import dev.moba.tensor.Tensor;
import dev.moba.testing.GoldenCases;
import dev.moba.testing.NpyFiles;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MobaCliTest {

    private static final String SUMMARY =
            "verify: 5 cases, max abs error \\d\\.\\d{3}e-\\d\\d, mean abs error \\d\\.\\d{3}e-\\d\\d, pass";

    @TempDir
    Path dir;

    @Test
    void verifiesEveryCaseOfAFolder() {
        GoldenCases.copyAllTo(dir);
        CliRun run = moba("verify", "--threads", "2", dir.toString());
        assertThat(run.err()).isEmpty();
        assertThat(run.status()).isZero();
        assertThat(run.out()).hasSize(6);
        for (int i = 0; i < 5; i++) {
            assertThat(run.out().get(i)).startsWith(GoldenCases.NAMES.get(i) + " ")
                    .contains("backend=java dtype=fp32 chunk=one-shot").endsWith(" pass");
        }
        assertThat(run.out().get(5)).matches(SUMMARY);
    }

    @Test
    void verifiesBf16InChunksOfSeven() {
        GoldenCases.copyAllTo(dir);
        CliRun run = moba("verify", "--dtype", "bf16", "--chunk", "7", dir.toString());
        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).hasSize(6);
        assertThat(run.out().subList(0, 5)).allSatisfy(line ->
                assertThat(line).contains("dtype=bf16 chunk=7").endsWith(" pass"));
        assertThat(run.out().get(5)).matches(SUMMARY);
    }

    @Test
    void aSingleCaseFolderIsACase() {
        Path c = GoldenCases.copyTo(dir, "gqa");
        CliRun run = moba("verify", c.toString());
        assertThat(run.status()).isZero();
        assertThat(run.out()).hasSize(2);
        assertThat(run.out().get(1)).startsWith("verify: 1 cases,").endsWith(", pass");
    }

    @Test
    void aPerturbedExpectationFails() throws IOException {
        Path c = GoldenCases.copyTo(dir, "topk1-block-local");
        float[] out;
        try (InputStream in = Files.newInputStream(c.resolve("out.npy")); Arena arena = Arena.ofConfined()) {
            Tensor t = Npy.readTensor(in, "out.npy", arena);
            out = t.toFloatArray();
        }
        for (int i = 0; i < out.length; i += 97) {
            out[i] += 1e-3f;
        }
        NpyFiles.write(c.resolve("out.npy"), new int[] {512, 2, 64}, out);
        CliRun run = moba("verify", c.toString());
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.out().get(0)).startsWith("topk1-block-local").endsWith(" FAIL");
        assertThat(run.out().get(1)).matches("verify: 1 cases, max abs error 1\\.0\\d\\de-03, .*, FAIL");
    }

    @Test
    void aCorruptedCaseIsAnErrorNamingIt() throws IOException {
        GoldenCases.copyAllTo(dir);
        byte[] bytes = Files.readAllBytes(dir.resolve("gqa/k.npy"));
        bytes[0] = 0;
        Files.write(dir.resolve("gqa/k.npy"), bytes);
        CliRun run = moba("verify", dir.toString());
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err().strip()).isEqualTo("moba: gqa/k.npy: not a .npy file (bad magic string)");
    }

    @Test
    void aFolderWithoutCasesIsAnErrorNamingIt() throws IOException {
        Files.createDirectories(dir.resolve("empty/sub"));
        CliRun run = moba("verify", dir.resolve("empty").toString());
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains(dir.resolve("empty") + " holds no case");
        CliRun missing = moba("verify", dir.resolve("nowhere").toString());
        assertThat(missing.status()).isEqualTo(2);
        assertThat(missing.err()).contains(dir.resolve("nowhere") + " is not a folder");
    }

    @Test
    void badOptionsAreErrors() {
        GoldenCases.copyTo(dir, "gqa");
        CliRun backend = moba("verify", "--backend", "tpu", dir.toString());
        assertThat(backend.status()).isEqualTo(2);
        assertThat(backend.err()).contains("no backend named 'tpu'");
        CliRun chunk = moba("verify", "--chunk", "-3", dir.toString());
        assertThat(chunk.status()).isEqualTo(2);
        assertThat(chunk.err()).contains("--chunk must be >= 0, got -3; ");
        CliRun dtype = moba("verify", "--dtype", "fp8", dir.toString());
        assertThat(dtype.status()).isEqualTo(2);
        assertThat(dtype.err()).contains("fp8");
        CliRun noPath = moba("verify");
        assertThat(noPath.status()).isEqualTo(2);
        assertThat(noPath.err()).contains("PATH");
    }

    @Test
    void helpGoesToOut() {
        CliRun run = moba("verify", "--help");
        assertThat(run.status()).isZero();
        assertThat(String.join("\n", run.out())).contains("--dtype").contains("--chunk");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "demo", "verify", "run", "bench"})
    void everyCommandsHelpHasExamplesAndExitStatuses(String command) {
        CliRun run = command.isEmpty() ? moba("--help") : moba(command, "--help");
        assertThat(run.status()).isZero();
        assertThat(run.err()).isEmpty();
        assertThat(String.join("\n", run.out())).contains("Examples:").contains("Exit status:")
                .contains("  0").contains("  2");
    }
}
