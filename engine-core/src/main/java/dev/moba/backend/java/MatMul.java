package dev.moba.backend.java;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one dense kernel of the Java backend: {@code C[rows][cols] = A[rows][inner] * B[inner][cols]} in fp32, with
 * {@code A} and {@code C} on the heap and {@code B} in a memory segment (a KV block or the summary table).
 *
 * <p>Register-blocked: a tile of 6 rows of {@code C} stays in registers while {@code inner} runs, each step
 * broadcasting 6 elements of {@code A} against vector loads of {@code B}. The tile is 4 vectors wide where the
 * hardware has 32 vector registers (AVX-512: 24 accumulators) and 2 vectors wide where it has 16 (AVX2: 12
 * accumulators); a wider tile on 16 registers spills, a narrower one on 32 leaves the FMA units half idle.
 * Columns are the outer loop so the panel of {@code B} a tile reads stays in L1 across all row tiles.
 * {@code cols} must be a multiple of the vector length (host layouts pad rows to 16 floats for that reason).
 */
final class MatMul {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();
    /** Rows of {@code C} per register tile. Row tiles of callers are best a multiple of it. */
    static final int TILE_ROWS = 6;
    /** Vectors per register tile: 4 with 512-bit vectors (32 registers), else 2. */
    static final int TILE_VECTORS = LANES >= 16 ? 4 : 2;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final long VECTOR_BYTES = (long) LANES * Float.BYTES;

    private MatMul() {}

    /** The kernel shape in use, for logs. */
    static String describe() {
        return (LANES * Float.SIZE) + "-bit vectors, " + TILE_ROWS + "x" + TILE_VECTORS + " register tile";
    }

    /**
     * Overwrites {@code c} with {@code a * b}.
     *
     * @param a     row-major, row stride {@code lda}
     * @param b     row-major at byte offset {@code bOffset}, row stride {@code ldb} elements
     * @param cols  columns of {@code b} and {@code c}; a multiple of {@link #LANES}
     * @param c     row-major, row stride {@code ldc}
     */
    static void multiply(float[] a, int lda, int rows, int inner, MemorySegment b, long bOffset, int ldb, int cols,
                         float[] c, int ldc) {
        if (cols % LANES != 0) {
            throw new IllegalArgumentException("cols " + cols + " is not a multiple of " + LANES);
        }
        long rowBytes = (long) ldb * Float.BYTES;
        int wideRows = rows - rows % TILE_ROWS;
        int col = 0;
        if (TILE_VECTORS == 4) {
            for (; col + 4 * LANES <= cols; col += 4 * LANES) {
                long p = bOffset + (long) col * Float.BYTES;
                for (int r = 0; r < wideRows; r += TILE_ROWS) {
                    tile6x4(a, r * lda, lda, inner, b, p, rowBytes, c, r * ldc + col, ldc);
                }
            }
        }
        for (; col + 2 * LANES <= cols; col += 2 * LANES) {
            long p = bOffset + (long) col * Float.BYTES;
            for (int r = 0; r < wideRows; r += TILE_ROWS) {
                tile6x2(a, r * lda, lda, inner, b, p, rowBytes, c, r * ldc + col, ldc);
            }
        }
        for (; col < cols; col += LANES) {
            long p = bOffset + (long) col * Float.BYTES;
            for (int r = 0; r < wideRows; r += TILE_ROWS) {
                tile6x1(a, r * lda, lda, inner, b, p, rowBytes, c, r * ldc + col, ldc);
            }
        }
        for (int r = wideRows; r < rows; r++) {
            for (col = 0; col < cols; col += LANES) {
                tile1x1(a, r * lda, inner, b, bOffset + (long) col * Float.BYTES, rowBytes, c, r * ldc + col);
            }
        }
    }

    private static void tile6x4(float[] a, int a0, int lda, int inner, MemorySegment b, long p, long rowBytes,
                                float[] c, int o, int ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c43 = c00;
        FloatVector c50 = c00, c51 = c00, c52 = c00, c53 = c00;
        for (int k = 0; k < inner; k++, p += rowBytes) {
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, p, ORDER);
            FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, p + VECTOR_BYTES, ORDER);
            FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, b, p + 2 * VECTOR_BYTES, ORDER);
            FloatVector b3 = FloatVector.fromMemorySegment(SPECIES, b, p + 3 * VECTOR_BYTES, ORDER);
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            c02 = b2.fma(x, c02);
            c03 = b3.fma(x, c03);
            x = FloatVector.broadcast(SPECIES, a[a0 + lda + k]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            c12 = b2.fma(x, c12);
            c13 = b3.fma(x, c13);
            x = FloatVector.broadcast(SPECIES, a[a0 + 2 * lda + k]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            c22 = b2.fma(x, c22);
            c23 = b3.fma(x, c23);
            x = FloatVector.broadcast(SPECIES, a[a0 + 3 * lda + k]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            c32 = b2.fma(x, c32);
            c33 = b3.fma(x, c33);
            x = FloatVector.broadcast(SPECIES, a[a0 + 4 * lda + k]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            c42 = b2.fma(x, c42);
            c43 = b3.fma(x, c43);
            x = FloatVector.broadcast(SPECIES, a[a0 + 5 * lda + k]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
            c52 = b2.fma(x, c52);
            c53 = b3.fma(x, c53);
        }
        store4(c, o, c00, c01, c02, c03);
        store4(c, o + ldc, c10, c11, c12, c13);
        store4(c, o + 2 * ldc, c20, c21, c22, c23);
        store4(c, o + 3 * ldc, c30, c31, c32, c33);
        store4(c, o + 4 * ldc, c40, c41, c42, c43);
        store4(c, o + 5 * ldc, c50, c51, c52, c53);
    }

    private static void tile6x2(float[] a, int a0, int lda, int inner, MemorySegment b, long p, long rowBytes,
                                float[] c, int o, int ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < inner; k++, p += rowBytes) {
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, p, ORDER);
            FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, p + VECTOR_BYTES, ORDER);
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(SPECIES, a[a0 + lda + k]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(SPECIES, a[a0 + 2 * lda + k]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(SPECIES, a[a0 + 3 * lda + k]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(SPECIES, a[a0 + 4 * lda + k]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(SPECIES, a[a0 + 5 * lda + k]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
        }
        store2(c, o, c00, c01);
        store2(c, o + ldc, c10, c11);
        store2(c, o + 2 * ldc, c20, c21);
        store2(c, o + 3 * ldc, c30, c31);
        store2(c, o + 4 * ldc, c40, c41);
        store2(c, o + 5 * ldc, c50, c51);
    }

    private static void tile6x1(float[] a, int a0, int lda, int inner, MemorySegment b, long p, long rowBytes,
                                float[] c, int o, int ldc) {
        FloatVector c0 = FloatVector.zero(SPECIES), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        for (int k = 0; k < inner; k++, p += rowBytes) {
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, p, ORDER);
            c0 = b0.fma(FloatVector.broadcast(SPECIES, a[a0 + k]), c0);
            c1 = b0.fma(FloatVector.broadcast(SPECIES, a[a0 + lda + k]), c1);
            c2 = b0.fma(FloatVector.broadcast(SPECIES, a[a0 + 2 * lda + k]), c2);
            c3 = b0.fma(FloatVector.broadcast(SPECIES, a[a0 + 3 * lda + k]), c3);
            c4 = b0.fma(FloatVector.broadcast(SPECIES, a[a0 + 4 * lda + k]), c4);
            c5 = b0.fma(FloatVector.broadcast(SPECIES, a[a0 + 5 * lda + k]), c5);
        }
        c0.intoArray(c, o);
        c1.intoArray(c, o + ldc);
        c2.intoArray(c, o + 2 * ldc);
        c3.intoArray(c, o + 3 * ldc);
        c4.intoArray(c, o + 4 * ldc);
        c5.intoArray(c, o + 5 * ldc);
    }

    private static void tile1x1(float[] a, int a0, int inner, MemorySegment b, long p, long rowBytes, float[] c,
                                int o) {
        FloatVector acc = FloatVector.zero(SPECIES);
        for (int k = 0; k < inner; k++, p += rowBytes) {
            acc = FloatVector.fromMemorySegment(SPECIES, b, p, ORDER).fma(FloatVector.broadcast(SPECIES, a[a0 + k]), acc);
        }
        acc.intoArray(c, o);
    }

    private static void store2(float[] c, int offset, FloatVector v0, FloatVector v1) {
        v0.intoArray(c, offset);
        v1.intoArray(c, offset + LANES);
    }

    private static void store4(float[] c, int offset, FloatVector v0, FloatVector v1, FloatVector v2,
                               FloatVector v3) {
        store2(c, offset, v0, v1);
        store2(c, offset + 2 * LANES, v2, v3);
    }
}
