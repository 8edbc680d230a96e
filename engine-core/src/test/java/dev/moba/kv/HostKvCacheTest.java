package dev.moba.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.spi.KvSpec;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class HostKvCacheTest {

    private static final int HEADS = 2;
    private static final int DIM = 5;
    private static final int BLOCK = 3;

    private final float[] keys = new RandomTensors(1).normal(20, HEADS, DIM);
    private final float[] values = new RandomTensors(2).normal(20, HEADS, DIM);

    private List<SealedBlock> append(HostKvCache cache, Arena arena, DType inputType, int from, int to) {
        return cache.append(tensor(arena, inputType, keys, from, to), tensor(arena, inputType, values, from, to));
    }

    private static Tensor tensor(Arena arena, DType dtype, float[] x, int from, int to) {
        return Tensor.of(arena, dtype, to - from, HEADS, DIM,
                Arrays.copyOfRange(x, from * HEADS * DIM, to * HEADS * DIM));
    }

    @Test
    void sealsBlocksAsAppendsCrossTheirBoundaries() {
        try (HostKvCache cache = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, DType.FP32));
             Arena arena = Arena.ofConfined()) {
            assertThat(append(cache, arena, DType.FP32, 0, 2)).isEmpty();
            assertThat(append(cache, arena, DType.FP32, 2, 7)).extracting(SealedBlock::index).containsExactly(0, 1);
            assertThat(append(cache, arena, DType.FP32, 7, 8)).isEmpty();
            assertThat(append(cache, arena, DType.FP32, 8, 8)).isEmpty();
            assertThat(append(cache, arena, DType.FP32, 8, 9)).extracting(SealedBlock::index).containsExactly(2);
            assertThat(append(cache, arena, DType.FP32, 9, 19)).extracting(SealedBlock::index).containsExactly(3, 4, 5);
            assertThat(cache.length()).isEqualTo(19);
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void truncatingUndoesAppendsAsIfTheyNeverCame(DType storage) {
        try (HostKvCache cache = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, storage));
             HostKvCache fresh = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, storage));
             Arena arena = Arena.ofConfined()) {
            append(cache, arena, DType.FP32, 0, 4);
            // Values past the truncation point differ from the ones appended again after it.
            cache.append(tensor(arena, DType.FP32, values, 4, 11), tensor(arena, DType.FP32, keys, 4, 11));
            cache.truncate(4);
            assertThat(cache.length()).isEqualTo(4);
            List<SealedBlock> again = append(cache, arena, DType.FP32, 4, 13);
            append(fresh, arena, DType.FP32, 0, 4);
            List<SealedBlock> expected = append(fresh, arena, DType.FP32, 4, 13);
            assertThat(again).extracting(SealedBlock::index).containsExactly(1, 2, 3);
            for (int i = 0; i < again.size(); i++) {
                assertThat(again.get(i).mean()).containsExactly(expected.get(i).mean());
            }
            assertThat(cache.readKeys(arena, 0, 13).toFloatArray())
                    .containsExactly(fresh.readKeys(arena, 0, 13).toFloatArray());
            assertThat(cache.readValues(arena, 0, 13).toFloatArray())
                    .containsExactly(fresh.readValues(arena, 0, 13).toFloatArray());
            assertThatThrownBy(() -> cache.truncate(14)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("cannot truncate 13 tokens to 14");
            assertThatThrownBy(() -> cache.truncate(-1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void sealedMeansAreTheFp32MeansOfTheStoredKeys(DType storage) {
        try (HostKvCache cache = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, storage));
             Arena arena = Arena.ofConfined()) {
            List<SealedBlock> sealed = new ArrayList<>();
            for (int[] range : new int[][] {{0, 1}, {1, 5}, {5, 6}, {6, 13}}) {
                sealed.addAll(append(cache, arena, DType.FP32, range[0], range[1]));
            }
            assertThat(sealed).hasSize(4);
            for (SealedBlock block : sealed) {
                float[] stored = cache.readKeys(arena, block.index() * BLOCK, (block.index() + 1) * BLOCK)
                        .toFloatArray();
                float[] mean = new float[HEADS * DIM];
                for (int i = 0; i < mean.length; i++) {
                    double sum = 0;
                    for (int p = 0; p < BLOCK; p++) {
                        sum += stored[p * HEADS * DIM + i];
                    }
                    mean[i] = (float) (sum / BLOCK);
                }
                assertThat(block.mean()).as("block %d", block.index()).containsExactly(mean);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void readsBackWhatWasStoredRoundedToTheStorageType(DType storage) {
        try (HostKvCache cache = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, storage));
             Arena arena = Arena.ofConfined()) {
            append(cache, arena, DType.FP32, 0, 4);
            append(cache, arena, DType.FP32, 4, 11);
            for (int[] range : new int[][] {{0, 11}, {2, 7}, {5, 5}, {10, 11}}) {
                Tensor k = cache.readKeys(arena, range[0], range[1]);
                Tensor v = cache.readValues(arena, range[0], range[1]);
                assertThat(k.dtype()).isEqualTo(DType.FP32);
                assertThat(k.shapeText()).isEqualTo("[" + (range[1] - range[0]) + ", " + HEADS + ", " + DIM + "]");
                assertThat(k.toFloatArray()).containsExactly(rounded(keys, storage, range[0], range[1]));
                assertThat(v.toFloatArray()).containsExactly(rounded(values, storage, range[0], range[1]));
            }
            assertThatThrownBy(() -> cache.readKeys(arena, 5, 12)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> cache.readValues(arena, 3, 2)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void acceptsInputsOfAnotherTypeAndStoresTheirValues() {
        try (HostKvCache cache = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, DType.FP32));
             Arena arena = Arena.ofConfined()) {
            append(cache, arena, DType.BF16, 0, 4);
            assertThat(cache.readKeys(arena, 0, 4).toFloatArray()).containsExactly(rounded(keys, DType.BF16, 0, 4));
        }
    }

    @Test
    void storesKeysTransposedAndValuesByRowWithZeroPadding() {
        try (HostKvCache cache = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, DType.FP32));
             Arena arena = Arena.ofConfined()) {
            append(cache, arena, DType.FP32, 0, 2);
            assertThat(cache.paddedBlock()).isEqualTo(16);
            assertThat(cache.paddedDim()).isEqualTo(16);
            var block = cache.block(0);
            int j = 1;
            int slot = 1;
            int d = 3;
            long keyIndex = cache.keysOffset(j) / 4 + (long) d * cache.paddedBlock() + slot;
            long valueIndex = cache.valuesOffset(j) / 4 + (long) slot * cache.paddedDim() + d;
            assertThat(DType.FP32.get(block, keyIndex)).isEqualTo(keys[(slot * HEADS + j) * DIM + d]);
            assertThat(DType.FP32.get(block, valueIndex)).isEqualTo(values[(slot * HEADS + j) * DIM + d]);
            assertThat(DType.FP32.get(block, keyIndex + 1)).isZero(); // slot 2 not written yet
            assertThat(DType.FP32.get(block, valueIndex + DIM - d)).isZero(); // padding after the last dim
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void blocksInPanelsHoldWhatRowMajorBlocksHold(DType storage) {
        int block = 20;
        int dim = 20;
        float[] k = new RandomTensors(3).normal(70, HEADS, dim);
        float[] v = new RandomTensors(4).normal(70, HEADS, dim);
        try (HostKvCache panels = new HostKvCache(new KvSpec(HEADS, dim, block, storage), 16);
             HostKvCache rowMajor = new HostKvCache(new KvSpec(HEADS, dim, block, storage));
             Arena arena = Arena.ofConfined()) {
            assertThat(panels.panel()).isEqualTo(16);
            assertThat(panels.paddedBlock()).isEqualTo(32);
            assertThat(panels.paddedDim()).isEqualTo(32);
            assertThat(rowMajor.panel()).isZero();
            List<List<SealedBlock>> sealed = new ArrayList<>();
            for (HostKvCache cache : List.of(panels, rowMajor)) {
                List<SealedBlock> blocks = new ArrayList<>();
                // Appends that start and end inside panels, then a truncation into a panel and an append over it.
                for (int[] range : new int[][] {{0, 7}, {7, 17}, {17, 45}, {45, 70}}) {
                    blocks.addAll(cache.append(Tensor.of(arena, DType.FP32, range[1] - range[0], HEADS, dim,
                                    Arrays.copyOfRange(k, range[0] * HEADS * dim, range[1] * HEADS * dim)),
                            Tensor.of(arena, DType.FP32, range[1] - range[0], HEADS, dim,
                                    Arrays.copyOfRange(v, range[0] * HEADS * dim, range[1] * HEADS * dim))));
                }
                cache.truncate(50);
                blocks.addAll(cache.append(Tensor.of(arena, DType.FP32, 20, HEADS, dim,
                                Arrays.copyOfRange(v, 50 * HEADS * dim, 70 * HEADS * dim)),
                        Tensor.of(arena, DType.FP32, 20, HEADS, dim,
                                Arrays.copyOfRange(k, 50 * HEADS * dim, 70 * HEADS * dim))));
                sealed.add(blocks);
            }
            assertThat(panels.readKeys(arena, 0, 70).toFloatArray())
                    .containsExactly(rowMajor.readKeys(arena, 0, 70).toFloatArray());
            assertThat(panels.readValues(arena, 0, 70).toFloatArray())
                    .containsExactly(rowMajor.readValues(arena, 0, 70).toFloatArray());
            assertThat(sealed.get(0)).hasSameSizeAs(sealed.get(1));
            for (int i = 0; i < sealed.get(0).size(); i++) {
                assertThat(sealed.get(0).get(i).mean()).containsExactly(sealed.get(1).get(i).mean());
            }
            // Key slot 17, dim 3 of head 1: second panel of its keys, row 3, column 1.
            long keyIndex = panels.keysOffset(1) / storage.bytes() + (long) dim * 16 + 3 * 16 + 1;
            assertThat(panels.keyIndex(1, 3, 17)).isEqualTo(keyIndex);
            assertThat(storage.get(panels.block(0), keyIndex)).isEqualTo(storage.get(rowMajor.block(0),
                    rowMajor.keyIndex(1, 3, 17)));
            // Value slot 5, dim 18 of head 0: second panel of its values, row 5, column 2.
            long valueIndex = panels.valuesOffset(0) / storage.bytes() + 32L * 16 + 5 * 16 + 2;
            assertThat(panels.valueIndex(0, 5, 18)).isEqualTo(valueIndex);
            assertThat(storage.get(panels.block(1), valueIndex)).isEqualTo(storage.get(rowMajor.block(1),
                    rowMajor.valueIndex(0, 5, 18)));
        }
    }

    @Test
    void refusesAPanelWidthThatIsNotAWholeNumberOfVectors() {
        var spec = new KvSpec(HEADS, DIM, BLOCK, DType.FP32);
        assertThatThrownBy(() -> new HostKvCache(spec, 8)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("panel must be 0 or a positive multiple of 16, got 8");
        assertThatThrownBy(() -> new HostKvCache(spec, -16)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bytesReservedCountsWholePaddedBlocks() {
        // Per block and kv head: keys [5][16] and values [16][16] of 4 bytes = 320 + 1024 bytes.
        try (HostKvCache cache = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, DType.FP32));
             Arena arena = Arena.ofConfined()) {
            assertThat(cache.bytesReserved()).isZero();
            append(cache, arena, DType.FP32, 0, 1);
            assertThat(cache.bytesReserved()).isEqualTo(2 * 1344);
            append(cache, arena, DType.FP32, 1, 4);
            assertThat(cache.bytesReserved()).isEqualTo(2 * 2 * 1344);
        }
        try (HostKvCache cache = new HostKvCache(new KvSpec(1, DIM, BLOCK, DType.BF16));
             Arena arena = Arena.ofConfined()) {
            cache.append(Tensor.allocate(arena, DType.FP32, 7, 1, DIM), Tensor.allocate(arena, DType.FP32, 7, 1, DIM));
            assertThat(cache.bytesReserved()).isEqualTo(3 * 672);
        }
    }

    @Test
    void rejectsMismatchedTensorsWithoutChangingAnything() {
        try (HostKvCache cache = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, DType.FP32));
             Arena arena = Arena.ofConfined()) {
            append(cache, arena, DType.FP32, 0, 2);
            long bytes = cache.bytesReserved();
            Tensor k = tensor(arena, DType.FP32, keys, 2, 4);
            assertThatThrownBy(() -> cache.append(k, Tensor.allocate(arena, DType.FP32, 2, 1, DIM)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("v has shape [2, 1, 5]");
            assertThatThrownBy(() -> cache.append(Tensor.allocate(arena, DType.FP32, 2, HEADS, 4), k))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("k has shape [2, 2, 4]");
            assertThatThrownBy(() -> cache.append(k, tensor(arena, DType.FP32, values, 2, 5)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("k has 2 tokens but v has 3");
            assertThat(cache.length()).isEqualTo(2);
            assertThat(cache.bytesReserved()).isEqualTo(bytes);
            append(cache, arena, DType.FP32, 2, 4);
            assertThat(cache.readKeys(arena, 0, 4).toFloatArray()).containsExactly(rounded(keys, DType.FP32, 0, 4));
        }
    }

    @Test
    void closeFreesTheStorage() {
        HostKvCache cache = new HostKvCache(new KvSpec(HEADS, DIM, BLOCK, DType.FP32));
        try (Arena arena = Arena.ofConfined()) {
            append(cache, arena, DType.FP32, 0, 4);
            var block = cache.block(0);
            cache.close();
            cache.close();
            assertThat(cache.bytesReserved()).isZero();
            assertThat(block.scope().isAlive()).isFalse();
            assertThatThrownBy(() -> append(cache, arena, DType.FP32, 4, 5)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
            assertThatThrownBy(() -> cache.readKeys(arena, 0, 1)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> cache.block(0)).isInstanceOf(IllegalStateException.class);
        }
    }

    private static float[] rounded(float[] x, DType dtype, int from, int to) {
        float[] out = Arrays.copyOfRange(x, from * HEADS * DIM, to * HEADS * DIM);
        for (int i = 0; i < out.length; i++) out[i] = dtype.round(out[i]);
        return out;
    }
}
