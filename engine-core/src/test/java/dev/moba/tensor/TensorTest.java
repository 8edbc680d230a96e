package dev.moba.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TensorTest {

    @ParameterizedTest(name = "[{0}, {1}, {2}]")
    @CsvSource({"-1, 2, 3", "4, 0, 3", "4, 2, 0", "4, -2, 3", "4, 2, -3"})
    void wrapRejectsNonPositiveSizes(int tokens, int heads, int dim) {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> Tensor.wrap(arena.allocate(0), DType.FP32, tokens, heads, dim))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[" + tokens + ", " + heads + ", " + dim + "]");
            assertThatThrownBy(() -> Tensor.allocate(arena, DType.FP32, tokens, heads, dim))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[" + tokens + ", " + heads + ", " + dim + "]");
        }
    }

    @Test
    void wrapRejectsASegmentOfTheWrongSize() {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> Tensor.wrap(arena.allocate(20), DType.BF16, 2, 3, 4))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("20 bytes").hasMessageContaining("48 bytes");
            assertThat(Tensor.wrap(arena.allocate(48), DType.BF16, 2, 3, 4).size()).isEqualTo(24);
            assertThat(Tensor.wrap(arena.allocate(0), DType.FP32, 0, 3, 4).tokens()).isZero();
        }
    }

    @Test
    void ofRejectsAWrongNumberOfValues() {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> Tensor.of(arena, DType.FP32, 2, 2, 2, new float[7]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("7 values");
        }
    }

    @Test
    void elementsAreRowMajorAndSlicesShareMemory() {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[3 * 2 * 2];
            for (int i = 0; i < values.length; i++) values[i] = i;
            Tensor t = Tensor.of(arena, DType.FP32, 3, 2, 2, values);
            assertThat(t.get(1, 0, 1)).isEqualTo(5f);
            assertThat(t.get(2, 1, 0)).isEqualTo(10f);
            Tensor tail = t.slice(1, 3);
            assertThat(tail.shapeText()).isEqualTo("[2, 2, 2]");
            tail.set(0, 1, 1, -1f);
            assertThat(t.get(1, 1, 1)).isEqualTo(-1f);
            assertThat(t.toFloatArray()[7]).isEqualTo(-1f);
            assertThatThrownBy(() -> t.get(3, 0, 0)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> t.get(0, 0, 2)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> t.slice(2, 4)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void narrowTensorsRoundOnStore() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.of(arena, DType.BF16, 1, 1, 2, new float[] {1.00390625f, 3.14159265f});
            assertThat(t.toFloatArray()).containsExactly(1f, 3.140625f);
        }
    }

    @Test
    void requireFiniteNamesTheTensorAndTheFirstBadElement() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, DType.FP16, 5, 2, 3);
            t.requireFinite("k");
            t.set(4, 0, 0, Float.NaN);
            t.set(3, 1, 2, Float.NaN);
            assertThatThrownBy(() -> t.requireFinite("k")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("k holds NaN at [token 3, head 1, dim 2]");
            t.set(0, 0, 1, Float.NEGATIVE_INFINITY);
            assertThatThrownBy(() -> t.requireFinite("v")).hasMessageStartingWith(
                    "v holds -Infinity at [token 0, head 0, dim 1]");
            // 70000 overflows fp16 to infinity when stored.
            Tensor big = Tensor.of(arena, DType.FP16, 1, 1, 1, new float[] {70000f});
            assertThatThrownBy(() -> big.requireFinite("q")).hasMessageStartingWith("q holds Infinity");
        }
    }

    @Test
    void firstNonFiniteFindsTheFirstBadFp32ElementInVectorsAndInTheTail() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, DType.FP32, 7, 3, 5);  // 105 elements: whole vectors and a tail
            assertThat(t.firstNonFinite()).isEqualTo(-1);
            t.set(6, 2, 4, Float.POSITIVE_INFINITY);                 // the last element, in the tail
            assertThat(t.firstNonFinite()).isEqualTo(104);
            t.set(2, 1, 3, Float.NaN);
            t.set(4, 0, 0, Float.NaN);
            assertThat(t.firstNonFinite()).isEqualTo(2 * 15 + 1 * 5 + 3);
            assertThatThrownBy(() -> t.requireFinite("q")).hasMessageStartingWith(
                    "q holds NaN at [token 2, head 1, dim 3]");
        }
    }

    /** Kernels read fp32 queries where they lie when every thread may; anything else is copied, rounded. */
    @Test
    void asStoredCopiesOnlyWhatKernelsCannotReadInPlace() {
        float[] values = {1.0f, 1.00390625f, -3.5f, 0.1f};
        try (Arena shared = Arena.ofShared(); Arena confined = Arena.ofConfined()) {
            Tensor inShared = Tensor.of(shared, DType.FP32, 2, 1, 2, values);
            assertThat(inShared.asStored(DType.FP32, shared)).isSameAs(inShared);

            Tensor inConfined = Tensor.of(confined, DType.FP32, 2, 1, 2, values);
            Tensor copied = inConfined.asStored(DType.FP32, shared);
            assertThat(copied).isNotSameAs(inConfined);
            assertThat(copied.isShared()).isTrue();
            assertThat(copied.toFloatArray()).containsExactly(values);

            Tensor rounded = inShared.asStored(DType.BF16, shared);
            assertThat(rounded).isNotSameAs(inShared);
            assertThat(rounded.toFloatArray()).containsExactly(1.0f, 1.0f, -3.5f, 0.10009765625f);

            // A view at an odd offset (as into a file) is copied to aligned memory.
            MemorySegment bytes = shared.allocate(1 + values.length * Float.BYTES, 8);
            MemorySegment.copy(inShared.segment(), 0, bytes, 1, values.length * Float.BYTES);
            Tensor unaligned = Tensor.wrap(bytes.asSlice(1), DType.FP32, 2, 1, 2);
            Tensor aligned = unaligned.asStored(DType.FP32, shared);
            assertThat(aligned).isNotSameAs(unaligned);
            assertThat(aligned.segment().address() % Float.BYTES).isZero();
            assertThat(aligned.toFloatArray()).containsExactly(values);
        }
    }
}
