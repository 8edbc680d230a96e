package dev.moba.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SelectionMapTest {

    @Test
    void countsSelectionsPerLayerAndSharesThemOverTheQueryBlocksRows() {
        var map = new SelectionMap(2, 3);
        for (int row = 0; row < 4; row++) {
            map.add(1, 2, 2);
        }
        map.add(1, 2, 0);
        map.add(1, 2, 0);
        map.add(1, 2, 1);
        assertThat(map.count(1, 2, 0)).isEqualTo(2);
        assertThat(map.count(0, 2, 0)).isZero();
        assertThat(map.share(1, 2, 2)).isEqualTo(1.0);
        assertThat(map.share(1, 2, 0)).isEqualTo(0.5);
        assertThat(map.share(1, 2, 1)).isEqualTo(0.25);
        assertThat(map.share(1, 1, 0)).isZero();
        assertThatThrownBy(() -> map.add(0, 3, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void sparsityIsTheShareOfCausalPairsSkipped() {
        assertThat(new Sparsity(25, 100).skipped()).isEqualTo(0.75);
        assertThat(new Sparsity(0, 0).skipped()).isZero();
    }
}
