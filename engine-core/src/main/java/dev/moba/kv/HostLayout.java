package dev.moba.kv;

/**
 * Padding rules of matrices kept in host memory. Rows that kernels read as vectors are padded to a multiple of
 * {@link #COLUMN_MULTIPLE} elements (64 bytes of fp32, one AVX-512 register), so a kernel never needs a tail loop
 * along them; the padding is zero.
 */
public final class HostLayout {

    /** Row lengths are padded to a multiple of this many elements. */
    public static final int COLUMN_MULTIPLE = 16;

    private HostLayout() {}

    /** {@code n} rounded up to a multiple of {@link #COLUMN_MULTIPLE}. */
    public static int padColumns(int n) {
        return (n + COLUMN_MULTIPLE - 1) / COLUMN_MULTIPLE * COLUMN_MULTIPLE;
    }
}
