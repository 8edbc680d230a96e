package dev.moba.kv;

/**
 * Padding rules of matrices kept in host memory. Rows that kernels read as vectors are padded to a multiple of
 * {@link #COLUMN_MULTIPLE} elements (64 bytes of fp32, one AVX-512 register), so a kernel never needs a tail loop
 * along them; the padding is zero. Row strides are padded further, to an odd number of 64-byte lines (see
 * {@link #padStride}).
 */
public final class HostLayout {

    /** Row lengths are padded to a multiple of this many elements. */
    public static final int COLUMN_MULTIPLE = 16;

    private HostLayout() {}

    /** {@code n} rounded up to a multiple of {@link #COLUMN_MULTIPLE}. */
    public static int padColumns(int n) {
        return (n + COLUMN_MULTIPLE - 1) / COLUMN_MULTIPLE * COLUMN_MULTIPLE;
    }

    /**
     * Whether {@code n} columns cut into panels of {@code panel} waste little: at most an eighth more than {@code n}
     * once padded to whole panels (a block of 512 keys in panels of 64: none; a head dim of 80: 60% more).
     */
    public static boolean fillsPanels(int n, int panel) {
        return (long) (n + panel - 1) / panel * panel <= n + n / 8;
    }

    /**
     * A row stride for rows of {@code n} elements: {@link #padColumns} of it, plus one more multiple when that spans
     * an even number of 64-byte lines of fp32. With a stride of a power of two bytes, the same columns of
     * successive rows fall into a handful of cache sets, and a kernel's panel of a few hundred rows no longer stays
     * in L1; an odd number of lines spreads them over every set.
     */
    public static int padStride(int n) {
        int padded = padColumns(n);
        return padded / COLUMN_MULTIPLE % 2 == 0 ? padded + COLUMN_MULTIPLE : padded;
    }
}
