package dev.moba.backend.java;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one dense kernel of the Java backend: {@code C[rows][cols] = A[rows][inner] * B[inner][cols]} in fp32, with
 * {@code A} and {@code C} on the heap and {@code B} in a memory segment (a KV block or the summary table).
 *
 * <p>Register-blocked: a 4 x 4-vector tile of {@code C} stays in registers while {@code inner} runs, each step
 * broadcasting 4 elements of {@code A} against 4 vector loads of {@code B}. {@code cols} must be a multiple of the
 * vector length (host layouts pad rows to 16 floats for that reason).
 */
final class MatMul {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final int TILE_ROWS = 4;
    private static final int TILE_COLS = 4 * LANES;

    private MatMul() {}

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
        int wideCols = cols - cols % TILE_COLS;
        int wideRows = rows - rows % TILE_ROWS;
        for (int col = 0; col < wideCols; col += TILE_COLS) {
            for (int r = 0; r < wideRows; r += TILE_ROWS) {
                tile4x4(a, lda, r, inner, b, bOffset, ldb, col, c, ldc);
            }
            for (int r = wideRows; r < rows; r++) {
                tile1x4(a, lda, r, inner, b, bOffset, ldb, col, c, ldc);
            }
        }
        for (int col = wideCols; col < cols; col += LANES) {
            for (int r = 0; r < rows; r++) {
                tile1x1(a, lda, r, inner, b, bOffset, ldb, col, c, ldc);
            }
        }
    }

    private static void tile4x4(float[] a, int lda, int r, int inner, MemorySegment b, long bOffset, int ldb,
                                int col, float[] c, int ldc) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int a0 = r * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        long rowBytes = (long) ldb * Float.BYTES;
        long p = bOffset + (long) col * Float.BYTES;
        long step = (long) LANES * Float.BYTES;
        for (int k = 0; k < inner; k++, p += rowBytes) {
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, p, ORDER);
            FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, p + step, ORDER);
            FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, b, p + 2 * step, ORDER);
            FloatVector b3 = FloatVector.fromMemorySegment(SPECIES, b, p + 3 * step, ORDER);
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01); c02 = b2.fma(x, c02); c03 = b3.fma(x, c03);
            x = FloatVector.broadcast(SPECIES, a[a1 + k]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11); c12 = b2.fma(x, c12); c13 = b3.fma(x, c13);
            x = FloatVector.broadcast(SPECIES, a[a2 + k]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21); c22 = b2.fma(x, c22); c23 = b3.fma(x, c23);
            x = FloatVector.broadcast(SPECIES, a[a3 + k]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31); c32 = b2.fma(x, c32); c33 = b3.fma(x, c33);
        }
        int o = r * ldc + col;
        store4(c, o, c00, c01, c02, c03);
        store4(c, o + ldc, c10, c11, c12, c13);
        store4(c, o + 2 * ldc, c20, c21, c22, c23);
        store4(c, o + 3 * ldc, c30, c31, c32, c33);
    }

    private static void tile1x4(float[] a, int lda, int r, int inner, MemorySegment b, long bOffset, int ldb,
                                int col, float[] c, int ldc) {
        FloatVector c0 = FloatVector.zero(SPECIES), c1 = c0, c2 = c0, c3 = c0;
        int a0 = r * lda;
        long rowBytes = (long) ldb * Float.BYTES;
        long p = bOffset + (long) col * Float.BYTES;
        long step = (long) LANES * Float.BYTES;
        for (int k = 0; k < inner; k++, p += rowBytes) {
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
            c0 = FloatVector.fromMemorySegment(SPECIES, b, p, ORDER).fma(x, c0);
            c1 = FloatVector.fromMemorySegment(SPECIES, b, p + step, ORDER).fma(x, c1);
            c2 = FloatVector.fromMemorySegment(SPECIES, b, p + 2 * step, ORDER).fma(x, c2);
            c3 = FloatVector.fromMemorySegment(SPECIES, b, p + 3 * step, ORDER).fma(x, c3);
        }
        store4(c, r * ldc + col, c0, c1, c2, c3);
    }

    private static void tile1x1(float[] a, int lda, int r, int inner, MemorySegment b, long bOffset, int ldb,
                                int col, float[] c, int ldc) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int a0 = r * lda;
        long rowBytes = (long) ldb * Float.BYTES;
        long p = bOffset + (long) col * Float.BYTES;
        for (int k = 0; k < inner; k++, p += rowBytes) {
            acc = FloatVector.fromMemorySegment(SPECIES, b, p, ORDER).fma(FloatVector.broadcast(SPECIES, a[a0 + k]), acc);
        }
        acc.intoArray(c, r * ldc + col);
    }

    private static void store4(float[] c, int offset, FloatVector v0, FloatVector v1, FloatVector v2,
                               FloatVector v3) {
        v0.intoArray(c, offset);
        v1.intoArray(c, offset + LANES);
        v2.intoArray(c, offset + 2 * LANES);
        v3.intoArray(c, offset + 3 * LANES);
    }
}
