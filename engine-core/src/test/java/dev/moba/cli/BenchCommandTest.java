package dev.moba.cli;

import static dev.moba.cli.CliRun.moba;
import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.bench.PrefillWorkload;
import dev.moba.config.HeadLayout;
import dev.moba.io.Json;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {

    private static final String[] TINY = {"bench", "--backend", "java", "--heads", "2", "--kv-heads", "1",
            "--head-dim", "16", "--block", "64", "--top-k", "2", "--runs", "1", "--warmup", "0", "--threads", "1"};

    @TempDir
    Path dir;

    private static CliRun tiny(String... args) {
        return moba(Stream.concat(Arrays.stream(TINY), Arrays.stream(args)).toArray(String[]::new));
    }

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

    @Test
    void aSweepTimesEachLengthInOrderAndWritesTheChartAndThePoints() throws IOException {
        Path png = dir.resolve("sweep.png");
        Path json = dir.resolve("sweep.json");
        CliRun run = tiny("--sweep", "1024,512", "--dense", "--plot", png.toString(), "--json", json.toString());

        assertThat(run.status()).as(run.err()).isZero();
        List<String> results = run.out().stream().filter(line -> line.startsWith("bench: backend=")).toList();
        assertThat(results).hasSize(2);
        assertThat(results.get(0)).matches("bench: backend=java dtype=fp32 tokens=512 moba_ms=\\d+\\.\\d"
                + " dense_ms=\\d+\\.\\d speedup=\\d+\\.\\d moba_gflops=\\d+\\.\\d");
        assertThat(results.get(1)).contains(" tokens=1024 ");
        List<String> table = run.out().subList(run.out().size() - 4, run.out().size());
        assertThat(table.get(0)).isEqualTo("sweep: java fp32, 2/1 heads, dim 16, block 64, top-2");
        assertThat(table.get(2)).matches(" +512 +\\d+\\.\\d +\\d+\\.\\d +\\d+\\.\\dx +\\d+\\.\\d");
        assertThat(table.get(3)).startsWith("      1024 ");

        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).isNotNull();
        assertThat(image.getWidth()).isPositive();
        assertThat(image.getHeight()).isPositive();
        int corner = image.getRGB(0, 0);
        assertThat(IntStream.range(0, image.getHeight()).anyMatch(y -> IntStream.range(0, image.getWidth())
                .anyMatch(x -> image.getRGB(x, y) != corner))).as("a flat image").isTrue();

        @SuppressWarnings("unchecked")
        var root = (Map<String, Object>) Json.parse(Files.readString(json));
        assertThat(root).containsEntry("backend", "java").containsEntry("heads", 2.0).containsEntry("block", 64.0);
        @SuppressWarnings("unchecked")
        var points = (List<Map<String, Object>>) root.get("points");
        assertThat(points).extracting(p -> p.get("tokens")).containsExactly(512.0, 1024.0);
        for (Map<String, Object> point : points) {
            double moba = (Double) point.get("moba_ms");
            double dense = (Double) point.get("dense_ms");
            assertThat(moba).isPositive();
            assertThat(dense).isPositive();
            assertThat((List<?>) point.get("moba_runs_ms")).hasSize(1);
            assertThat((List<?>) point.get("dense_runs_ms")).hasSize(1);
            // speedup has two decimals, the medians three: allow for both roundings
            double ratio = dense / moba;
            double rounding = 0.005 + ratio * (0.0006 / dense + 0.0006 / moba);
            assertThat((Double) point.get("speedup")).isCloseTo(ratio, Offset.offset(rounding));
            assertThat((Double) point.get("moba_pairs")).isEqualTo((double) new PrefillWorkload(
                    ((Double) point.get("tokens")).intValue(), new HeadLayout(2, 1, 16), 64, 2).mobaPairs());
        }
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactlyInAnyOrder(png, json);
        }
    }

    @Test
    void aPlotTimesDenseWithoutBeingAsked() throws IOException {
        Path png = dir.resolve("sweep.png");
        CliRun run = tiny("--sweep", "256,512", "--plot", png.toString());
        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).filteredOn(line -> line.contains("dense run")).hasSize(2);
        assertThat(Files.size(png)).isPositive();
    }

    @Test
    void badLengthsAreNamedWithTheFix() {
        assertThat(tiny("--sweep", "512,abc").err())
                .contains("Invalid value for option '--sweep': 'abc' is not a whole number of tokens;"
                        + " give comma-separated token counts such as 8192,32768,131072");
        assertThat(tiny("--sweep", "512,0").err()).contains("a length must be >= 1 token, got 0");
        assertThat(tiny("--sweep", "512,-3").err()).contains("a length must be >= 1 token, got -3");
        assertThat(tiny("--sweep", "512,512").err()).contains("a length is listed twice in [512, 512]");
        assertThat(tiny("--sweep", "64,128", "--tokens", "64").err())
                .contains("--tokens=N, --sweep=N,N... are mutually exclusive");
        assertThat(tiny().err()).contains("Missing required argument").contains("--tokens").contains("--sweep");
        assertThat(tiny("--tokens", "64", "--plot", dir.resolve("a.png").toString()).err())
                .contains("--plot draws a sweep; give --sweep with two or more lengths");
        assertThat(tiny("--sweep", "64", "--plot", dir.resolve("a.png").toString()).err())
                .contains("--plot needs two or more --sweep lengths");
        for (String[] args : List.of(new String[] {"--sweep", "512,abc"}, new String[] {"--sweep", "0"},
                new String[] {"--sweep", "64,128", "--tokens", "64"}, new String[0])) {
            assertThat(tiny(args).status()).as(String.join(" ", args)).isEqualTo(2);
        }
    }

    @Test
    void aFileThatCannotBeWrittenFailsBeforeTheTiming() {
        Path png = dir.resolve("missing/sweep.png");
        CliRun run = tiny("--sweep", "64,128", "--plot", png.toString());
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("moba: --plot " + png + ": the folder " + png.getParent()
                + " does not exist; create it first or pick a file in an existing folder");
        assertThat(run.out()).isEmpty();
        assertThat(png.getParent()).doesNotExist();
        CliRun folder = tiny("--sweep", "64,128", "--json", dir.toString());
        assertThat(folder.status()).isEqualTo(2);
        assertThat(folder.err()).contains("--json " + dir + " is a folder");
    }

    @Test
    void helpHasExamplesAndExitStatus() {
        CliRun run = moba("bench", "--help");
        assertThat(run.status()).isZero();
        assertThat(String.join("\n", run.out())).contains("--sweep=N,N...").contains("--plot=FILE.png")
                .contains("Exit status:").contains("Examples:").contains("--sweep 8192,32768,131072");
    }
}
