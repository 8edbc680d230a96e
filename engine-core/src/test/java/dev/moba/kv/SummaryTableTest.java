package dev.moba.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.spi.SealedBlock;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class SummaryTableTest {

    private static float value(int block, int j, int d) {
        return block * 100 + j * 10 + d + 0.5f;
    }

    private static SealedBlock block(int index, int kvHeads, int dim) {
        float[] mean = new float[kvHeads * dim];
        for (int j = 0; j < kvHeads; j++) {
            for (int d = 0; d < dim; d++) {
                mean[j * dim + d] = value(index, j, d);
            }
        }
        return new SealedBlock(index, mean);
    }

    @Test
    void growsBeyondSixteenBlocksKeepingEveryMean() {
        try (SummaryTable table = new SummaryTable(2, 3)) {
            assertThat(table.capacity()).isEqualTo(16);
            for (int b = 0; b < 40; b++) {
                table.add(block(b, 2, 3));
                assertThat(table.blocks()).isEqualTo(b + 1);
            }
            assertThat(table.capacity()).isEqualTo(64);
            assertThat(table.bytesReserved()).isEqualTo(2L * 3 * 64 * 4);
            for (int b = 0; b < 40; b++) {
                for (int j = 0; j < 2; j++) {
                    for (int d = 0; d < 3; d++) {
                        assertThat(table.mean(b, j, d)).isEqualTo(value(b, j, d));
                        // Transposed layout: kv head j's matrix is [dim][capacity], block b in column b.
                        long index = table.headOffset(j) / 4 + (long) d * table.capacity() + b;
                        assertThat(table.segment().getAtIndex(ValueLayout.JAVA_FLOAT, index)).isEqualTo(value(b, j, d));
                    }
                }
            }
            for (int column = 40; column < 64; column++) {
                assertThat(table.segment().getAtIndex(ValueLayout.JAVA_FLOAT, table.headOffset(1) / 4 + column))
                        .isZero();
            }
            assertThatThrownBy(() -> table.mean(40, 0, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void truncatingForgetsLaterBlocksAndZeroesTheirColumns() {
        try (SummaryTable table = new SummaryTable(2, 3)) {
            for (int b = 0; b < 5; b++) {
                table.add(block(b, 2, 3));
            }
            table.truncate(2);
            assertThat(table.blocks()).isEqualTo(2);
            assertThat(table.mean(1, 1, 2)).isEqualTo(value(1, 1, 2));
            for (int j = 0; j < 2; j++) {
                for (int d = 0; d < 3; d++) {
                    for (int column = 2; column < 5; column++) {
                        long index = table.headOffset(j) / 4 + (long) d * table.capacity() + column;
                        assertThat(table.segment().getAtIndex(ValueLayout.JAVA_FLOAT, index)).isZero();
                    }
                }
            }
            table.add(block(2, 2, 3));
            assertThat(table.mean(2, 0, 1)).isEqualTo(value(2, 0, 1));
            assertThatThrownBy(() -> table.truncate(4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("cannot truncate 3 block means to 4");
        }
    }

    @Test
    void rejectsBlocksOutOfOrderOrOfTheWrongSize() {
        try (SummaryTable table = new SummaryTable(1, 4)) {
            table.add(block(0, 1, 4));
            assertThatThrownBy(() -> table.add(block(2, 1, 4))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("block 2 sealed out of order; expected 1");
            assertThatThrownBy(() -> table.add(new SealedBlock(1, new float[3])))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mean of 3 values, expected 4");
            assertThat(table.blocks()).isEqualTo(1);
        }
    }

    @Test
    void closeIsIdempotent() {
        SummaryTable table = new SummaryTable(1, 1);
        var segment = table.segment();
        table.close();
        table.close();
        assertThat(segment.scope().isAlive()).isFalse();
    }
}
