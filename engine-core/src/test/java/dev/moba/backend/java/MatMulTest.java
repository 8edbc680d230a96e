package dev.moba.backend.java;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.Arrays;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The kernels, on packed matrices and on matrices where they lie, against a plain triple loop, over shapes that
 * reach every tile and tail.
 */
class MatMulTest {

    @ParameterizedTest(name = "{0} x {1} x {2} cols, {3}")
    @CsvSource({
            "48, 128, 512, fp32",  // a tile against a whole block's keys
            "48, 512, 128, fp32",  // its probabilities against the block's values: several inner slices
            "7, 33, 16, fp32",     // a partial row tile and one vector of columns
            "13, 200, 48, fp32",   // three vectors: a partial panel on 512-bit machines
            "6, 300, 80, bf16",    // a full panel plus one vector, widened from bf16
            "4, 300, 144, fp32",   // a decode step's rows: whole panels a row at a time, several inner slices
            "1, 5, 32, fp16"})
    void packedProductsEqualTheDefinition(int rows, int inner, int cols, String type) {
        DType dtype = DType.parse(type);
        SplittableRandom random = new SplittableRandom(rows * 31L + inner * 7L + cols);
        int lda = inner + 3;
        int ldb = cols + 16;
        int ldc = cols + 5;
        float[] a = new float[rows * lda];
        for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian();
        try (Arena arena = Arena.ofConfined(); PackedMatrix packed = new PackedMatrix()) {
            long base = 3;
            MemorySegment b = arena.allocate((base + (long) inner * ldb) * dtype.bytes(), 64);
            for (long i = 0; i < base + (long) inner * ldb; i++) dtype.set(b, i, (float) random.nextGaussian());
            float[] c = new float[rows * ldc];
            Arrays.fill(c, Float.NaN);

            MatMul.multiply(a, lda, rows, inner, packed.pack(b, base, ldb, inner, cols, dtype), cols, c, ldc);
            assertEqualsDefinition(a, lda, rows, inner, b, base, ldb, cols, dtype, c, ldc);
            Arrays.fill(c, Float.NaN);
            MatMul.multiply(a, lda, rows, inner, packed, cols, c, ldc, 7); // slices that add up, on any hardware
            assertEqualsDefinition(a, lda, rows, inner, b, base, ldb, cols, dtype, c, ldc);
            if (dtype == DType.FP32) {
                Arrays.fill(c, Float.NaN);
                MatMul.multiplyFew(a, lda, rows, inner, b, base * Float.BYTES, ldb, cols, c, ldc);
                assertEqualsDefinition(a, lda, rows, inner, b, base, ldb, cols, dtype, c, ldc);
            }
        }
    }

    private static void assertEqualsDefinition(float[] a, int lda, int rows, int inner, MemorySegment b, long base,
                                               int ldb, int cols, DType dtype, float[] c, int ldc) {
        for (int r = 0; r < rows; r++) {
            for (int col = 0; col < cols; col++) {
                double expected = 0;
                for (int k = 0; k < inner; k++) {
                    expected += (double) a[r * lda + k] * dtype.get(b, base + (long) k * ldb + col);
                }
                assertThat((double) c[r * ldc + col]).as("c[%d][%d]", r, col)
                        .isCloseTo(expected, Offset.offset(1e-4 * Math.sqrt(inner)));
            }
        }
    }

    @Test
    void aProductLargerThanThePackedMatrixIsRefused() {
        try (Arena arena = Arena.ofConfined(); PackedMatrix packed = new PackedMatrix()) {
            MemorySegment b = arena.allocate(64L * 64 * Float.BYTES, 64);
            packed.pack(b, 0, 64, 8, 32, DType.FP32);
            float[] c = new float[64 * 64];
            assertThatThrownBy(() -> MatMul.multiply(new float[64 * 64], 64, 6, 8, packed, 48, c, 64))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
            assertThatThrownBy(() -> MatMul.multiply(new float[64 * 64], 64, 6, 9, packed, 32, c, 64))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
            assertThatThrownBy(() -> MatMul.multiply(new float[64 * 64], 64, 6, 0, packed, 32, c, 64))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("a product of 0 x 32");
            assertThatThrownBy(() -> packed.pack(b, 0, 64, 8, MatMul.LANES / 2 * 3, DType.FP32))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of");
        }
    }
}
