package dev.moba.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The resident append (keys and values already on the device, stored into their blocks in one pass that also
 * freezes the means of the blocks it seals) stores every token exactly and writes each sealed block's mean as the
 * host computes it: the keys summed in double in token order, divided once, rounded to fp32, bit for bit. Appends
 * come in parts that split blocks, so a block's earlier keys are read back from the cache for its mean. Rows that
 * are not a multiple of 8 bytes take the general append kernel and a separate means pass, with the same result.
 */
@RequiresGpu
class ResidentAppendTest {

    record Case(DType dtype, int kvHeads, int dim, int blockSize, int[] parts, long seed) {}

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case(DType.BF16, 2, 64, 256, new int[] {300, 900}, 1),
                new Case(DType.FP16, 2, 32, 64, new int[] {64, 130, 1}, 2),
                new Case(DType.FP32, 1, 128, 100, new int[] {1, 250, 149}, 3),
                new Case(DType.BF16, 1, 8, 4096, new int[] {5000, 3192}, 4),
                // Rows of 6 bytes: the general append kernel and a separate means pass.
                new Case(DType.BF16, 1, 3, 64, new int[] {100, 50}, 5)).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void storesEveryTokenAndTheMeansOfSealedBlocks(Case c) {
        int total = Arrays.stream(c.parts()).sum();
        int sealed = total / c.blockSize();
        int row = c.kvHeads() * c.dim();
        Qkv data = new RandomTensors(c.seed()).qkv(total, c.kvHeads(), c.kvHeads(), c.dim()).rounded(c.dtype());
        CudaBackend backend = CudaBackends.shared();
        CudaDevice device = backend.device();
        try (Arena arena = Arena.ofConfined();
             DeviceBuffers buffers = new DeviceBuffers(device);
             CudaKvCache cache = (CudaKvCache) backend.openCache(
                     new KvSpec(c.kvHeads(), c.dim(), c.blockSize(), c.dtype()))) {
            long means = buffers.poisoned((long) row * sealed * Float.BYTES, backend);
            int from = 0;
            for (int part : c.parts()) {
                long k = buffers.of(data.k(arena, c.dtype(), from, from + part));
                long v = buffers.of(data.v(arena, c.dtype(), from, from + part));
                device.execute(() -> cache.appendResident(k, v, c.dtype(), part, means, sealed));
                from += part;
            }
            assertThat(cache.length()).isEqualTo(total);
            assertThat(cache.readKeys(arena, 0, total).toFloatArray()).containsExactly(data.k());
            assertThat(cache.readValues(arena, 0, total).toFloatArray()).containsExactly(data.v());
            float[] actual = buffers.readFloats(means, arena, row * sealed);
            for (int b = 0; b < sealed; b++) {
                for (int e = 0; e < row; e++) {
                    double sum = 0;
                    for (int t = b * c.blockSize(); t < (b + 1) * c.blockSize(); t++) {
                        sum += data.k()[t * row + e];
                    }
                    float expected = (float) (sum / c.blockSize());
                    assertThat(Float.floatToRawIntBits(actual[e * sealed + b]))
                            .as("mean of block %d, element %d", b, e)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                }
            }
        }
    }
}
