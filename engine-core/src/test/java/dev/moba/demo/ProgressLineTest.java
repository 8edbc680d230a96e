package dev.moba.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ProgressLineTest {

    @Test
    void inALogItWritesALinePerTenthWithRateAndTimeLeft() {
        StringWriter text = new StringWriter();
        long[] now = {0};
        var progress = new ProgressLine(new PrintWriter(text), false, "prefill", 400, 4, () -> now[0]);
        for (int i = 0; i < 100; i++) {
            now[0] += 10_000_000L;
            progress.advance(4);
        }
        progress.finish();
        var lines = text.toString().lines().toList();
        assertThat(lines).hasSize(10);
        assertThat(lines.getFirst()).isEqualTo("prefill   10% [##......................] 10/100 tokens, 100 tokens/s,"
                + " ETA 1 s");
        assertThat(lines.getLast()).startsWith("prefill  100% [########################] 100/100 tokens")
                .doesNotContain("\r");
    }

    @Test
    void onATerminalItRedrawsOneLine() {
        StringWriter text = new StringWriter();
        long[] now = {0};
        var progress = new ProgressLine(new PrintWriter(text), true, "decode", 10, 1, () -> now[0]);
        now[0] = 1_000_000_000L;
        progress.advance(5);
        now[0] = 2_000_000_000L;
        progress.advance(5);
        progress.finish();
        assertThat(text.toString()).startsWith("\rdecode    50% ").contains("\rdecode   100% ").endsWith("\n")
                .containsOnlyOnce("\n");
    }
}
