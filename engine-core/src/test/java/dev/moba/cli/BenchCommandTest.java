package dev.moba.cli;

import static dev.moba.cli.CliRun.moba;
import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.bench.PrefillWorkload;
import dev.moba.config.HeadLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {

    @TempDir
    Path dir;


    @Test
    void timesMobaAndDenseAndEndsWithTheSummaryLine() throws IOException {
        Path json = dir.resolve("bench.json");
        CliRun run = moba("bench", "--backend", "java", "--dtype", "bf16", "--tokens", "300", "--heads", "4",
                "--kv-heads", "2", "--head-dim", "16", "--block", "64", "--top-k", "2", "--dense", "--runs", "3",
                "--dense-runs", "2", "--threads", "2", "--json", json.toString());

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).filteredOn(line -> line.contains("moba run")).hasSize(3);
        assertThat(run.out()).filteredOn(line -> line.contains("moba warm-up")).hasSize(1);
        assertThat(run.out()).filteredOn(line -> line.contains("dense run")).hasSize(2);
        assertThat(run.out().getLast()).matches("bench: backend=java dtype=bf16 tokens=300 moba_ms=\\d+\\.\\d"
                + " dense_ms=\\d+\\.\\d speedup=\\d+\\.\\d moba_gflops=\\d+\\.\\d");
        String text = Files.readString(json);
        long pairs = new PrefillWorkload(300, new HeadLayout(4, 2, 16), 64, 2).mobaPairs();
        assertThat(text).contains("\"backend\": \"java\"").contains("\"moba_pairs\": " + pairs)
                .contains("\"dense_pairs\": " + 300 * 301 / 2 * 4).contains("\"speedup\": ");
    }

    @Test
    void withoutDenseTheDenseFieldsAreDashes() {
        CliRun run = moba("bench", "--backend", "java", "--tokens", "100", "--heads", "2", "--kv-heads", "1",
                "--head-dim", "8", "--block", "16", "--runs", "1", "--warmup", "0");
        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out().getLast()).matches("bench: backend=java dtype=fp32 tokens=100 moba_ms=\\d+\\.\\d"
                + " dense_ms=- speedup=- moba_gflops=\\d+\\.\\d");
    }

    @Test
    void badInputIsNamed() {
        CliRun noTokens = moba("bench", "--backend", "java");
        assertThat(noTokens.status()).isEqualTo(2);
        assertThat(noTokens.err()).contains("--tokens");
        CliRun zero = moba("bench", "--backend", "java", "--tokens", "0");
        assertThat(zero.status()).isEqualTo(2);
        assertThat(zero.err()).contains("tokens must be >= 1, got 0");
        CliRun heads = moba("bench", "--backend", "java", "--tokens", "10", "--heads", "3", "--kv-heads", "2");
        assertThat(heads.status()).isEqualTo(2);
        assertThat(heads.err()).contains("3").contains("2");
        CliRun runs = moba("bench", "--backend", "java", "--tokens", "10", "--runs", "0");
        assertThat(runs.err()).contains("--runs must be >= 1, got 0");
    }

    @Test
    void mobaPairsCountHistoryBlocksWholeAndTheCurrentBlockCausally() {
        var layout = new HeadLayout(2, 1, 8);
        // block 4, top-2: token t reads min(t/4, 1) whole blocks and t%4+1 keys of its own block
        long perHead = 0;
        for (int t = 0; t < 10; t++) {
            perHead += Math.min(t / 4, 1) * 4 + t % 4 + 1;
        }
        assertThat(new PrefillWorkload(10, layout, 4, 2).mobaPairs()).isEqualTo(2 * perHead);
        // a top-k covering every block is dense causal attention
        assertThat(new PrefillWorkload(10, layout, 4, 3).mobaPairs())
                .isEqualTo(new PrefillWorkload(10, layout, 4, 3).densePairs());
    }
}
