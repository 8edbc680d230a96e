package dev.moba.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.spi.BackendOptions;
import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigTest {

    @ParameterizedTest(name = "HeadLayout({0}, {1}, {2})")
    @CsvSource(delimiter = '|', value = {
            "0|1|8|qHeads must be >= 1, got 0",
            "-4|1|8|qHeads must be >= 1, got -4",
            "4|0|8|kvHeads must be >= 1, got 0",
            "4|-2|8|kvHeads must be >= 1, got -2",
            "4|2|0|headDim must be >= 1, got 0",
            "4|2|-1|headDim must be >= 1, got -1",
            "6|4|8|qHeads (6) must be a multiple of kvHeads (4)",
            "2|4|8|qHeads (2) must be a multiple of kvHeads (4)",
    })
    void headLayoutRejects(int qHeads, int kvHeads, int headDim, String message) {
        assertThatThrownBy(() -> new HeadLayout(qHeads, kvHeads, headDim))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void queryHeadsMapToKvHeadsLikeRepeatInterleave() {
        HeadLayout layout = new HeadLayout(6, 2, 8);
        assertThat(layout.groupSize()).isEqualTo(3);
        assertThat(new int[] {layout.kvHeadOf(0), layout.kvHeadOf(2), layout.kvHeadOf(3), layout.kvHeadOf(5)})
                .containsExactly(0, 0, 1, 1);
    }

    @ParameterizedTest(name = "blockSize {0}, topK {1}")
    @CsvSource(delimiter = '|', value = {"0|1|blockSize must be >= 1, got 0", "-8|1|blockSize must be >= 1, got -8",
                "8|0|topK must be >= 1, got 0", "8|-3|topK must be >= 1, got -3"})
    void mobaConfigRejectsSizesBelowOne(int blockSize, int topK, String message) {
        assertThatThrownBy(() -> MobaConfig.of(blockSize, topK))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void mobaConfigRejectsBadScalesAndNulls() {
        for (float scale : new float[] {0f, -0.5f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            assertThatThrownBy(() -> MobaConfig.of(8, 2).withScale(scale))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scale must be");
        }
        assertThatThrownBy(() -> MobaConfig.of(8, 2).withDtype(null)).hasMessageContaining("dtype");
        assertThatThrownBy(() -> MobaConfig.of(8, 2).withMode(null)).hasMessageContaining("mode");
    }

    @Test
    void mobaConfigDefaults() {
        MobaConfig config = MobaConfig.of(16, 3);
        assertThat(config.scaleFor(64)).isEqualTo(0.125f);
        assertThat(config.withScale(0.3f).scaleFor(64)).isEqualTo(0.3f);
        assertThat(config.historyPicks()).isEqualTo(2);
        assertThat(config.withMode(AttentionMode.FULL).historyPicks()).isEqualTo(Integer.MAX_VALUE);
        assertThat(config.dtype()).isEqualTo(DType.FP32);
    }

    @Test
    void attentionModeParsing() {
        assertThat(AttentionMode.parse(" Full ")).isEqualTo(AttentionMode.FULL);
        assertThat(AttentionMode.parse("moba")).isEqualTo(AttentionMode.MOBA);
        assertThatThrownBy(() -> AttentionMode.parse("sparse")).hasMessageContaining("'sparse'");
    }

    @Test
    void kvSpecAndBackendOptionsRejectNonPositiveSizes() {
        assertThatThrownBy(() -> new KvSpec(0, 8, 16, DType.FP32)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0, 8, 16");
        assertThatThrownBy(() -> new KvSpec(1, 8, -1, DType.FP32)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KvSpec(1, 8, 16, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BackendOptions(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threads must be >= 1, got 0");
    }
}
