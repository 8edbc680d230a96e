package dev.moba.cli;

import static dev.moba.cli.CliRun.moba;
import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.demo.HeatMapGeometry;
import dev.moba.demo.HeatMapPng;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {

    private static final String NUMBER = "\\d+\\.\\d{3}e[-+]\\d\\d";

    @TempDir
    Path dir;

    @Test
    void aSmallDemoPrintsEveryLineAndDrawsTheSelection() throws IOException {
        Path out = dir.resolve("out");
        CliRun run = moba("demo", "--backend", "java", "--tokens", "4096", "--layers", "2", "--heads", "4",
                "--kv-heads", "2", "--head-dim", "32", "--block", "256", "--chunk", "1024", "--decode", "8",
                "--threads", "2", "--out", out.toString());

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).hasSize(9);
        assertThat(run.out().get(0)).startsWith("demo: 4,096 tokens + 8 decode steps, 2 layers, 4/2 heads, dim 32");
        assertThat(run.out().get(1)).startsWith("backend: java (named: ");
        assertThat(run.out().get(2)).matches("prefill: 4096 tokens in \\d+\\.\\d\\d s, \\d+ tokens/s .*");
        assertThat(run.out().get(3)).matches("decode: 8 tokens in \\d+\\.\\d\\d s, \\d+\\.\\d tokens/s, .* ms/token .*");
        assertThat(run.out().get(4)).matches("sparsity: 0\\.\\d{4} of causal query-key pairs skipped .*");
        assertThat(run.out().get(5)).matches("error vs exact MoBA: max " + NUMBER + ", mean " + NUMBER
                + " \\(128 sampled rows, .*");
        assertThat(run.out().get(6)).matches("difference vs dense: max " + NUMBER + ", mean " + NUMBER + " .*");
        assertThat(run.out().get(7)).matches("peak off-heap: \\d+\\.\\d MiB .*");
        Path png = out.resolve("selection.png");
        assertThat(run.out().get(8)).startsWith("heat map: " + png + " ");
        assertThat(number(run.out().get(5), "max (" + NUMBER + ")")).isLessThan(1e-4);
        assertThat(run.err()).contains("prefill  100%").contains("decode   100%");

        BufferedImage image = ImageIO.read(png.toFile());
        int blocks = (4096 + 8 + 255) / 256;
        var geometry = new HeatMapGeometry(2, blocks);
        assertThat(image.getWidth()).isEqualTo(geometry.width());
        assertThat(image.getHeight()).isEqualTo(geometry.height());
        int cell = geometry.cell();
        for (int layer = 0; layer < 2; layer++) {
            for (int qb = 0; qb < blocks; qb++) {
                for (int kb = 0; kb < blocks; kb++) {
                    int rgb = image.getRGB(geometry.panelX(layer) + kb * cell + cell / 2,
                            geometry.panelY(layer) + qb * cell + cell / 2) & 0xFFFFFF;
                    if (kb > qb) {
                        assertThat(rgb).as("future block %d of query block %d", kb, qb)
                                .isEqualTo(HeatMapPng.BACKGROUND);
                    } else if (kb == qb) {
                        assertThat(rgb).as("diagonal %d", qb).isEqualTo(HeatMapPng.colorOf(1));
                    }
                }
            }
        }
    }

    @Test
    void badOptionsNameTheProblemAndTheFix() throws IOException {
        String[] small = {"--backend", "java", "--out", dir.toString()};
        assertRefused(args(small, "--tokens", "0"), "--tokens must be >= 1, got 0; ");
        assertRefused(args(small, "--heads", "6", "--kv-heads", "4"),
                "--heads 6 is not a multiple of --kv-heads 4", "pick --heads as a multiple of --kv-heads");
        assertRefused(args(small, "--block", "0"), "--block must be >= 1, got 0; ");
        assertRefused(args(small, "--top-k", "0"), "--top-k must be >= 1, got 0; ");
        assertRefused(args(small, "--tokens", "1000000", "--block", "16"), "raise --block or lower --tokens");
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        assertRefused(new String[] {"--out", file.resolve("sub").toString()}, "cannot create the folder",
                "pick a folder you can write to with --out DIR");
        assertRefused(new String[] {"--backend", "tpu", "--out", dir.toString()}, "no backend named 'tpu'",
                "choose one with --backend");
        CliRun dtype = moba("demo", "--dtype", "fp8");
        assertThat(dtype.status()).isEqualTo(2);
        assertThat(dtype.err()).contains("fp8").contains("fp32, bf16 or fp16");
    }

    @Test
    void helpListsEveryOptionExamplesAndExitStatus() {
        CliRun run = moba("demo", "--help");
        assertThat(run.status()).isZero();
        String help = String.join("\n", run.out());
        for (String option : new String[] {"--tokens", "--layers", "--heads", "--kv-heads", "--head-dim", "--block",
                "--top-k", "--chunk", "--decode", "--backend", "--dtype", "--seed", "--out"}) {
            assertThat(help).contains(option);
        }
        assertThat(help).contains("Examples:").contains("moba demo --tokens").contains("Exit status:");
    }

    private static void assertRefused(String[] args, String... messages) {
        CliRun run = moba(args("demo", args));
        assertThat(run.status()).as(String.join(" ", args)).isEqualTo(2);
        assertThat(run.err()).startsWith("moba: ").contains(messages);
        assertThat(run.out()).isEmpty();
    }

    private static String[] args(String[] first, String... more) {
        String[] all = new String[first.length + more.length];
        System.arraycopy(first, 0, all, 0, first.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }

    private static String[] args(String first, String[] more) {
        return args(new String[] {first}, more);
    }

    private static double number(String line, String regex) {
        Matcher m = Pattern.compile(regex).matcher(line);
        assertThat(m.find()).as(line).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
