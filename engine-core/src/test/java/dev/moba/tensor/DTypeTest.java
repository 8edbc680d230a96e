package dev.moba.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class DTypeTest {

    private static short bf16Bits(float value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(2);
            DType.BF16.set(s, 0, value);
            return s.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0);
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "3F800000, 3F80", // 1.0
            "3F808000, 3F80", // halfway, even neighbour below
            "3F818000, 3F82", // halfway, even neighbour above
            "3F808001, 3F81", // just above halfway
            "3F807FFF, 3F80", // just below halfway
            "40490FDB, 4049", // pi
            "C0000000, C000", // -2.0
            "BF808000, BF80", // -halfway rounds to even magnitude
            "80000000, 8000", // -0.0
            "00000001, 0000", // smallest subnormal rounds to zero
            "00018000, 0002", // subnormal halfway rounds to even
            "7F7FFFFF, 7F80", // max float rounds up to infinity
            "7F7F7FFF, 7F7F", // largest that stays finite
            "7F800000, 7F80", // +inf
            "FF800000, FF80", // -inf
    })
    void bf16RoundsToNearestEven(String floatBits, String expected) {
        float value = Float.intBitsToFloat(Integer.parseUnsignedInt(floatBits, 16));
        assertThat(Integer.toHexString(bf16Bits(value) & 0xFFFF).toUpperCase())
                .isEqualTo(expected.replaceFirst("^0+(?=.)", ""));
    }

    @Test
    void bf16KeepsNaNsNaN() {
        for (int bits : new int[] {0x7FC00000, 0x7F800001, 0xFF800001, 0x7F80FFFF, 0x7FFFFFFF}) {
            float nan = Float.intBitsToFloat(bits);
            assertThat(DType.BF16.round(nan)).as(Integer.toHexString(bits)).isNaN();
        }
    }

    @Test
    void bf16PicksTheNearerNeighbourOnRandomValues() {
        Random random = new Random(5);
        for (int i = 0; i < 100_000; i++) {
            float x = Float.intBitsToFloat(random.nextInt());
            if (!Float.isFinite(x) || Math.abs(x) >= 0x1.fefp127f) continue;
            int bits = Float.floatToRawIntBits(x);
            float down = Float.intBitsToFloat(bits & 0xFFFF0000);
            float up = Float.intBitsToFloat((bits & 0xFFFF0000) + 0x10000);
            double dDown = Math.abs((double) x - down);
            double dUp = Math.abs((double) up - x);
            float expected = dDown < dUp ? down : dUp < dDown ? up
                    : ((Float.floatToRawIntBits(down) >>> 16) & 1) == 0 ? down : up;
            assertThat(DType.BF16.round(x)).as("x = %s", x).isEqualTo(expected);
        }
    }

    @Test
    void bf16ValuesRoundTripExactly() {
        for (int b = 0; b < 0x10000; b++) {
            float x = DType.bf16ToFloat((short) b);
            if (Float.isNaN(x)) continue;
            assertThat(DType.floatToBf16(x) & 0xFFFF).isEqualTo(b);
        }
    }

    @Test
    void fp16MatchesTheJdkConversion() {
        Random random = new Random(6);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(2);
            for (int i = 0; i < 100_000; i++) {
                float x = i % 2 == 0 ? (float) random.nextGaussian() * 1000 : Float.intBitsToFloat(random.nextInt());
                if (Float.isNaN(x)) continue;
                short expected = Float.floatToFloat16(x);
                DType.FP16.set(s, 0, x);
                assertThat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0)).isEqualTo(expected);
                assertThat(DType.FP16.get(s, 0)).isEqualTo(Float.float16ToFloat(expected));
                assertThat(DType.FP16.round(x)).isEqualTo(Float.float16ToFloat(expected));
            }
        }
        assertThat(DType.FP16.round(65504f)).isEqualTo(65504f);
        assertThat(DType.FP16.round(65520f)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(DType.FP16.round(1 + 0x1p-11f)).isEqualTo(1f); // halfway, even neighbour below
        assertThat(DType.FP16.round(1 + 3 * 0x1p-11f)).isEqualTo(1 + 0x1p-9f); // halfway, even neighbour above
    }

    @Test
    void fp32StoresExactly() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8);
            float x = 0.1f + 1e-9f;
            DType.FP32.set(s, 1, x);
            assertThat(DType.FP32.get(s, 1)).isEqualTo(x);
            assertThat(DType.FP32.round(x)).isEqualTo(x);
        }
    }

    @Test
    void sizesNamesAndParsing() {
        assertThat(DType.FP32.bytes()).isEqualTo(4);
        assertThat(DType.BF16.bytes()).isEqualTo(2);
        assertThat(DType.FP16.bytes()).isEqualTo(2);
        assertThat(DType.BF16).hasToString("bf16");
        assertThat(DType.parse(" BF16 ")).isEqualTo(DType.BF16);
        assertThat(DType.parse("float16")).isEqualTo(DType.FP16);
        assertThat(DType.parse("f32")).isEqualTo(DType.FP32);
        assertThatThrownBy(() -> DType.parse("int8")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'int8'");
    }
}
