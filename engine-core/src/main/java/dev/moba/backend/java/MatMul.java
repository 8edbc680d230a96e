package dev.moba.backend.java;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one dense kernel of the Java backend: {@code C[rows][cols] = A[rows][inner] * B[inner][cols]} in fp32, with
 * {@code A} and {@code C} on the heap and {@code B} in a memory segment (a KV block or the summary table).
 *
 * <p>Register-blocked: a tile of 6 rows x 2 vectors of {@code C} (12 accumulators, which with two loads of
 * {@code B} and one broadcast of {@code A} fits the 16 registers of AVX2) stays in registers while {@code inner}
 * runs; each step costs 12 fused multiply-adds for 2 vector loads. Columns are the outer loop so the panel of
 * {@code B} a tile reads stays in L1 across all row tiles. {@code cols} must be a multiple of the vector length
 * (host layouts pad rows to 16 floats for that reason).
 *
 * <p>Measured in place (a whole prefill) this shape beat 4x4 and 6x4 tiles on AVX-512 too, where 6x4 looked
 * fastest in isolation but ran five times slower inside the engine.
 */
final class MatMul {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();
    /** Rows of {@code C} per register tile. Row tiles of callers are best a multiple of it. */
    static final int TILE_ROWS = 6;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final long VECTOR_BYTES = (long) LANES * Float.BYTES;

    private MatMul() {}

    /** The kernel shape in use, for logs. */
    static String describe() {
        return (LANES * Float.SIZE) + "-bit vectors, " + TILE_ROWS + "x2 register tile";
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
        for (; col + 2 * LANES <= cols; col += 2 * LANES) {
            long p = bOffset + (long) col * Float.BYTES;
            for (int r = 0; r < wideRows; r += TILE_ROWS) {
                tile6x2(a, lda, r, inner, b, p, rowBytes, c, r * ldc + col, ldc);
            }
            for (int r = wideRows; r < rows; r++) {
                tile1x2(a, r * lda, inner, b, p, rowBytes, c, r * ldc + col);
            }
        }
        if (col < cols) {
            long p = bOffset + (long) col * Float.BYTES;
            for (int r = 0; r < rows; r++) {
                tile1x1(a, r * lda, inner, b, p, rowBytes, c, r * ldc + col);
            }
        }
    }

    private static void tile6x2(float[] a, int lda, int r, int inner, MemorySegment b, long p, long rowBytes,
                                float[] c, int o, int ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        int a0 = r * lda;
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

    private static void tile1x2(float[] a, int a0, int inner, MemorySegment b, long p, long rowBytes, float[] c,
                                int o) {
        FloatVector c0 = FloatVector.zero(SPECIES), c1 = c0;
        for (int k = 0; k < inner; k++, p += rowBytes) {
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
            c0 = FloatVector.fromMemorySegment(SPECIES, b, p, ORDER).fma(x, c0);
            c1 = FloatVector.fromMemorySegment(SPECIES, b, p + VECTOR_BYTES, ORDER).fma(x, c1);
        }
        store2(c, o, c0, c1);
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
}
