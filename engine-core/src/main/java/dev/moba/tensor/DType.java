package dev.moba.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Storage element types. Values are always computed in fp32; bf16 and fp16 round to nearest even when stored.
 */
public enum DType {
    FP32(4),
    BF16(2),
    FP16(2);

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** Reads element {@code index} (in elements, not bytes) as fp32. */
    public float get(MemorySegment segment, long index) {
        return switch (this) {
            case FP32 -> segment.getAtIndex(F32, index);
            case BF16 -> bf16ToFloat(segment.getAtIndex(I16, index));
            case FP16 -> Float.float16ToFloat(segment.getAtIndex(I16, index));
        };
    }

    /**
     * Decodes elements {@code [from, from + count)} of {@code source} to fp32 at element {@code to} of {@code out}.
     * bf16 widens a vector at a time (its bits are the top half of the fp32 bits: sign-extend, shift; element by
     * element it was a tenth of a bf16 prefill); fp32 and fp16 go element by element.
     */
    public void widen(MemorySegment source, long from, MemorySegment out, long to, long count) {
        long e = 0;
        if (this == BF16) {
            for (long bound = count - count % Widening.SHORTS.length(); e < bound; e += Widening.SHORTS.length()) {
                ShortVector bits = ShortVector.fromMemorySegment(Widening.SHORTS, source, (from + e) * Short.BYTES,
                        Widening.ORDER);
                ((IntVector) bits.convertShape(VectorOperators.S2I, Widening.INTS, 0))
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                        .intoMemorySegment(out, (to + e) * Float.BYTES, Widening.ORDER);
            }
        }
        for (; e < count; e++) {
            out.setAtIndex(ValueLayout.JAVA_FLOAT, to + e, get(source, from + e));
        }
    }

    /** Writes {@code value}, rounded to this type, at element {@code index}. */
    public void set(MemorySegment segment, long index, float value) {
        switch (this) {
            case FP32 -> segment.setAtIndex(F32, index, value);
            case BF16 -> segment.setAtIndex(I16, index, floatToBf16(value));
            case FP16 -> segment.setAtIndex(I16, index, Float.floatToFloat16(value));
        }
    }

    /** {@code value} rounded to this type and widened back to fp32. */
    public float round(float value) {
        return switch (this) {
            case FP32 -> value;
            case BF16 -> bf16ToFloat(floatToBf16(value));
            case FP16 -> Float.float16ToFloat(Float.floatToFloat16(value));
        };
    }

    /** Rounds every element of {@code values} to this type, in place. */
    public void roundInPlace(float[] values) {
        if (this == FP32) {
            return;
        }
        for (int i = 0; i < values.length; i++) {
            values[i] = round(values[i]);
        }
    }

    /** Parses {@code fp32}, {@code bf16} or {@code fp16}, case-insensitively. */
    public static DType parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "fp32", "f32", "float32" -> FP32;
            case "bf16", "bfloat16" -> BF16;
            case "fp16", "f16", "float16" -> FP16;
            default -> throw new IllegalArgumentException("dtype must be fp32, bf16 or fp16, got '" + text + "'");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x40); // keep NaN a quiet NaN
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /** Vector species of {@link #widen}: as many shorts and ints as the preferred float vector has lanes. */
    private static final class Widening {
        static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
        static final VectorSpecies<Short> SHORTS =
                VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.length() * Short.SIZE));
        static final VectorSpecies<Integer> INTS = FLOATS.withLanes(int.class);
        static final ByteOrder ORDER = ByteOrder.nativeOrder();
    }
}
