package dev.moba.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.bench.PrefillPoint;
import dev.moba.bench.PrefillWorkload;
import dev.moba.config.HeadLayout;
import java.awt.image.BufferedImage;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SweepChartTest {

    private static final HeadLayout LAYOUT = new HeadLayout(8, 2, 128);

    private static PrefillPoint point(int tokens, double mobaMs, double denseMs) {
        return new PrefillPoint(new PrefillWorkload(tokens, LAYOUT, 512, 3), List.of(mobaMs), List.of(denseMs));
    }

    @Test
    void drawsBothCurvesOnAWhiteChart() {
        BufferedImage image = SweepChart.render("test", List.of(point(8192, 50, 120), point(32768, 210, 1900),
                point(131072, 900, 30000)));
        assertThat(image.getWidth()).isEqualTo(SweepChart.WIDTH);
        assertThat(image.getHeight()).isEqualTo(SweepChart.HEIGHT);
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                colours.add(image.getRGB(x, y) & 0xffffff);
            }
        }
        assertThat(colours).contains(0xffffff, 0x1f77b4, 0xd62728);
    }

    @Test
    void everyPointNeedsDenseTimes() {
        var mobaOnly = new PrefillPoint(new PrefillWorkload(1024, LAYOUT, 512, 3), List.of(1.0), List.of());
        assertThatThrownBy(() -> SweepChart.render("test", List.of(point(512, 1, 1), mobaOnly)))
                .hasMessage("the point at 1024 tokens has no dense time");
        assertThatThrownBy(() -> SweepChart.render("test", List.of())).hasMessage("a chart needs at least one point");
    }
}
