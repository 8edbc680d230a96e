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
}
