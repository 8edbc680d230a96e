package dev.moba.merge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.moba.memory.SlabArena;
import dev.moba.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class RowStatesTest {

    private static final int ROWS = 6;
    private static final int DIM = 20;

    /** Folds three tiles into rows 0..4 (row 5 gets none), in the order a backend would. */
    private static void foldTiles(RowStates states) {
        float[] maxima = {0.5f, 2.0f, -1.0f};
        for (int tile = 0; tile < maxima.length; tile++) {
            float[] values = new RandomTensors(10 + tile).normal(ROWS * DIM);
            for (int row = 0; row < ROWS - 1; row++) {
                if (tile == 1 && row == 2) continue;  // row 2 skips a tile, as a row that did not pick a block
                states.add(row, maxima[tile] + row, 1.5f + tile, values, row * DIM);
            }
        }
        states.finish(0, 0, ROWS, 1, 1);
    }

    @Test
    void partialsThatHeldGarbageEndAsZeroedOnesDo() {
        try (Arena arena = Arena.ofConfined(); SlabArena slab = new SlabArena(1 << 12)) {
            MemorySegment before = slab.allocate((long) ROWS * DIM * Float.BYTES, 64);
            before.fill((byte) 0xff);  // NaN bit patterns everywhere
            slab.reset();
            Partials unwritten = Partials.unwritten(slab, ROWS, DIM);
            assertThat(Float.isNaN(unwritten.output(0, 0))).as("the slab's memory is handed out as it was").isTrue();
            Partials zeroed = Partials.empty(arena, ROWS, DIM);

            foldTiles(new RowStates(unwritten));
            foldTiles(new RowStates(zeroed));

            for (int row = 0; row < ROWS; row++) {
                assertThat(unwritten.lse(row)).isEqualTo(zeroed.lse(row));
                for (int d = 0; d < DIM; d++) {
                    assertThat(unwritten.output(row, d)).as("row %d, d %d", row, d).isEqualTo(zeroed.output(row, d));
                }
            }
            assertThat(unwritten.lse(ROWS - 1)).isEqualTo(Float.NEGATIVE_INFINITY);
            for (int d = 0; d < DIM; d++) {
                assertThat(unwritten.output(ROWS - 1, d)).isZero();
            }
        }
    }

    @Test
    void foldsEqualOneSoftmaxOverAllTiles() {
        try (Arena arena = Arena.ofConfined()) {
            Partials partials = Partials.unwritten(arena, ROWS, DIM);
            foldTiles(new RowStates(partials));
            float[][] values = new float[3][];
            float[] maxima = {0.5f, 2.0f, -1.0f};
            for (int tile = 0; tile < 3; tile++) {
                values[tile] = new RandomTensors(10 + tile).normal(ROWS * DIM);
            }
            for (int row = 0; row < ROWS - 1; row++) {
                double[] weights = new double[3];
                for (int tile = 0; tile < 3; tile++) {
                    if (tile == 1 && row == 2) continue;
                    // A tile's output is sum(p * v) with p = exp(s - tileMax), its weight exp(tileMax) * tileSum.
                    weights[tile] = Math.exp(maxima[tile] + row) * (1.5 + tile);
                }
                double total = weights[0] + weights[1] + weights[2];
                assertThat((double) partials.lse(row)).isCloseTo(Math.log(total), within(1e-5));
                for (int d = 0; d < DIM; d++) {
                    double o = 0;
                    for (int tile = 0; tile < 3; tile++) {
                        o += weights[tile] / (1.5 + tile) * values[tile][row * DIM + d];
                    }
                    assertThat((double) partials.output(row, d)).isCloseTo(o / total,
                            within(1e-5));
                }
            }
        }
    }

    @Test
    void aLastFoldNormalisesAsFinishDoesBitForBit() {
        try (Arena arena = Arena.ofConfined()) {
            Partials folded = Partials.unwritten(arena, ROWS, DIM);
            Partials finished = Partials.unwritten(arena, ROWS, DIM);
            RowStates byAdd = new RowStates(folded);
            RowStates byLast = new RowStates(finished);
            float[] maxima = {0.5f, 2.0f, -1.0f};
            for (int tile = 0; tile < maxima.length; tile++) {
                float[] values = new RandomTensors(20 + tile).normal(ROWS * DIM);
                for (int row = 0; row < ROWS; row++) {
                    // Row 0 has a single (last) tile; the others fold two first, with larger and smaller maxima.
                    if (row == 0 && tile < 2) continue;
                    float tileMax = maxima[tile] * (row % 2 == 0 ? 1 : -1) + row;
                    byAdd.add(row, tileMax, 1.25f + tile, values, row * DIM);
                    if (tile == 2) {
                        byLast.addLast(row, tileMax, 1.25f + tile, values, row * DIM);
                    } else {
                        byLast.add(row, tileMax, 1.25f + tile, values, row * DIM);
                    }
                }
            }
            byAdd.finish(0, 0, ROWS, 1, 1);
            for (int row = 0; row < ROWS; row++) {
                assertThat(finished.lse(row)).as("lse of row %d before finish", row).isEqualTo(folded.lse(row));
            }
            byLast.finish(0, 0, ROWS, 1, 1);
            for (int row = 0; row < ROWS; row++) {
                assertThat(finished.lse(row)).isEqualTo(folded.lse(row));
                for (int d = 0; d < DIM; d++) {
                    assertThat(finished.output(row, d)).as("row %d, d %d", row, d).isEqualTo(folded.output(row, d));
                }
            }
        }
    }
}
