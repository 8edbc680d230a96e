package dev.moba.kv;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HostLayoutTest {

    @Test
    void padsColumnsToWholeVectors() {
        assertThat(HostLayout.padColumns(1)).isEqualTo(16);
        assertThat(HostLayout.padColumns(16)).isEqualTo(16);
        assertThat(HostLayout.padColumns(17)).isEqualTo(32);
        assertThat(HostLayout.padColumns(512)).isEqualTo(512);
    }

    @Test
    void padsStridesToAnOddNumberOfCacheLines() {
        assertThat(HostLayout.padStride(5)).isEqualTo(16);
        assertThat(HostLayout.padStride(20)).isEqualTo(48);
        assertThat(HostLayout.padStride(48)).isEqualTo(48);
        assertThat(HostLayout.padStride(128)).isEqualTo(144);
        assertThat(HostLayout.padStride(512)).isEqualTo(528);
    }

    @Test
    void panelsAreUsedWhereTheyWasteAtMostAnEighth() {
        assertThat(HostLayout.fillsPanels(512, 64)).isTrue();
        assertThat(HostLayout.fillsPanels(128, 64)).isTrue();
        assertThat(HostLayout.fillsPanels(100, 16)).isTrue();   // 112 of 112 allowed
        assertThat(HostLayout.fillsPanels(80, 64)).isFalse();   // 128 for 80
        assertThat(HostLayout.fillsPanels(16, 64)).isFalse();
        assertThat(HostLayout.fillsPanels(130, 16)).isTrue();   // 144 of 146 allowed
    }
}
