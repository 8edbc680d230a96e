package dev.moba.io;

import dev.moba.tensor.DType;
import java.util.Arrays;
import java.util.Optional;

/**
 * Element types of stored arrays, by their safetensors names ({@code F32}, {@code BF16}, ...) and, where NumPy has
 * one, their little-endian {@code .npy} descriptor ({@code <f4}, ...). The engine computes on {@link #F32},
 * {@link #BF16} and {@link #F16} and reads boundaries as {@link #I32} or {@link #I64}; the others are known so that a
 * file holding them can be read and the wrong type named.
 */
public enum ElementType {
    F64(8, "<f8"),
    F32(4, "<f4"),
    F16(2, "<f2"),
    BF16(2, null),
    I64(8, "<i8"),
    I32(4, "<i4"),
    I16(2, "<i2"),
    I8(1, "|i1"),
    U64(8, "<u8"),
    U32(4, "<u4"),
    U16(2, "<u2"),
    U8(1, "|u1"),
    BOOL(1, "|b1"),
    F8_E4M3(1, null),
    F8_E5M2(1, null);

    private final int bytes;
    private final String npyDescr;

    ElementType(int bytes, String npyDescr) {
        this.bytes = bytes;
        this.npyDescr = npyDescr;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The {@code .npy} descriptor, if NumPy has this type. */
    public Optional<String> npyDescr() {
        return Optional.ofNullable(npyDescr);
    }

    /** The storage type the engine computes on, if this is one. */
    public Optional<DType> floatType() {
        return switch (this) {
            case F32 -> Optional.of(DType.FP32);
            case BF16 -> Optional.of(DType.BF16);
            case F16 -> Optional.of(DType.FP16);
            default -> Optional.empty();
        };
    }

    /** The type of a safetensors {@code dtype} string, if known. */
    public static Optional<ElementType> ofSafetensors(String name) {
        return Arrays.stream(values()).filter(t -> t.name().equals(name)).findFirst();
    }

    /** The type of a {@code .npy} descriptor, if supported (little-endian only). */
    public static Optional<ElementType> ofNpy(String descr) {
        String key = littleEndian(descr);
        return Arrays.stream(values())
                .filter(t -> t.npyDescr != null && littleEndian(t.npyDescr).equals(key))
                .findFirst();
    }

    /** {@code =} (native: little-endian wherever the engine runs) and {@code |} (single bytes) read as {@code <}. */
    private static String littleEndian(String descr) {
        return descr.startsWith("=") || descr.startsWith("|") ? "<" + descr.substring(1) : descr;
    }
}
