package dev.moba.io;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * A named n-dimensional array in C order over a {@link MemorySegment}, as stored in a safetensors or {@code .npy}
 * file: usually a view of a mapped file, so nothing is copied until elements are read. The segment's owner (an
 * {@link java.lang.foreign.Arena}) decides how long the view stays valid.
 *
 * @param shape dimensions, outermost first; empty for a scalar
 * @param data  exactly {@code elements() * type.bytes()} bytes, little-endian
 */
public record StoredArray(String name, ElementType type, long[] shape, MemorySegment data) {

    public StoredArray {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        shape = shape.clone();
        long elements = elements(shape);
        if (data.byteSize() != elements * type.bytes()) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes do not hold a " + type + " "
                    + Arrays.toString(shape) + " array");
        }
    }

    /** The number of elements of an array of {@code shape}; throws on negative or overflowing dimensions. */
    public static long elements(long[] shape) {
        long elements = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            elements = Math.multiplyExact(elements, d);
        }
        return elements;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Elements of the array. */
    public long elements() {
        return elements(shape);
    }

    /** The shape as {@code [2, 3, 4]}. */
    public String shapeText() {
        return Arrays.toString(shape);
    }

    /**
     * A {@link Tensor} view of this {@code [tokens, heads, dim]} float array (no copy).
     *
     * @throws IllegalArgumentException unless the array is F32, BF16 or F16 of rank 3 with dimensions that fit an int
     */
    public Tensor asTensor() {
        DType dtype = type.floatType().orElseThrow(() -> new IllegalArgumentException(
                name + " is " + type + ", not F32, BF16 or F16"));
        if (shape.length != 3 || Arrays.stream(shape).anyMatch(d -> d > Integer.MAX_VALUE)) {
            throw new IllegalArgumentException(name + " has shape " + shapeText() + ", not [tokens, heads, dim]");
        }
        return Tensor.wrap(data, dtype, (int) shape[0], (int) shape[1], (int) shape[2]);
    }

    /**
     * The elements of this rank-1 I32 or I64 array. Copies to the heap: meant for small arrays (boundaries).
     *
     * @throws IllegalArgumentException for another type or rank, or a value outside the int range
     */
    public int[] toIntArray() {
        if (type != ElementType.I32 && type != ElementType.I64 || shape.length != 1) {
            throw new IllegalArgumentException(name + " is " + type + " " + shapeText()
                    + ", not a one-dimensional I32 or I64 array");
        }
        int[] values = new int[Math.toIntExact(shape[0])];
        for (int i = 0; i < values.length; i++) {
            long value = type == ElementType.I32
                    ? data.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i)
                    : data.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
            if (value != (int) value) {
                throw new IllegalArgumentException(name + "[" + i + "] = " + value + " does not fit an int");
            }
            values[i] = (int) value;
        }
        return values;
    }
}
