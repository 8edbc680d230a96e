package dev.moba.io;

import java.util.Objects;

/**
 * The name, element type and shape of an array to write.
 *
 * @param shape dimensions, outermost first
 */
public record ArraySpec(String name, ElementType type, long[] shape) {

    public ArraySpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        shape = shape.clone();
        StoredArray.elements(shape);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Bytes of the array's data. */
    public long bytes() {
        return StoredArray.elements(shape) * type.bytes();
    }
}
