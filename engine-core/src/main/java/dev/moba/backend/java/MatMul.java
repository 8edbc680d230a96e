package dev.moba.backend.java;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one dense kernel of the Java backend: {@code C[rows][cols] = A[rows][inner] * B[inner][cols]} in fp32, with
 * {@code A} and {@code C} row-major on the heap and {@code B} packed into panels ({@link PackedMatrix}).
 *
 * <p>Register-blocked: a tile of 6 rows of {@code C} stays in registers while a slice of {@code inner} runs, each
 * step broadcasting 6 elements of {@code A} against vector loads of one row of a panel. The tile is 4 vectors wide
 * where the hardware has 32 vector registers (512-bit vectors: 24 accumulators) and 2 where it has 16 (AVX2: 12
 * accumulators; a wider tile there spills). {@code inner} runs in slices of {@link #INNER_SLICE}, and panels outside
 * rows, so the part of a panel the tiles read stays in L1 across all row tiles; the tiles of later slices add to
 * {@code C}. {@code cols} must be a multiple of the vector length (host layouts pad rows to 16 floats for that
 * reason).
 *
 * <p>Each tile method is written out in full, with no helper calls: the JIT must inline every vector operation of
 * a kernel to keep its accumulators in registers, and a 6x4 kernel that stored through small helper methods ran
 * five times slower. A panel row is {@link #PANEL} floats, a constant, so every load of a step is at a
 * constant offset from one index the JIT can prove in bounds before the loop; panels are 64-byte aligned, so no
 * vector load straddles two cache lines (a heap array cannot promise that, and its loads measured a third slower).
 */
final class MatMul {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();
    /** Rows of {@code C} per register tile. Row tiles of callers are best a multiple of it. */
    static final int TILE_ROWS = 6;
    /** Vectors per register tile: 4 with 512-bit vectors (32 registers), else 2. */
    static final int TILE_VECTORS = LANES >= 16 ? 4 : 2;
    /**
     * Steps of {@code inner} per pass over the tiles: 128 for 4-vector tiles, whose panels of a 512-key block would
     * not fit L1; 2-vector tiles run {@code inner} whole, which measured faster on AVX2.
     */
    static final int INNER_SLICE = TILE_VECTORS == 4 ? 128 : Integer.MAX_VALUE;
    /** Columns per panel of {@link PackedMatrix}: the width of the widest register tile. */
    static final int PANEL = TILE_VECTORS * LANES;
    private static final long PANEL_BYTES = (long) PANEL * Float.BYTES;
    private static final long VECTOR_BYTES = (long) LANES * Float.BYTES;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private MatMul() {}

    /** The kernel shape in use, for logs. */
    static String describe() {
        return (LANES * Float.SIZE) + "-bit vectors, " + TILE_ROWS + "x" + TILE_VECTORS + " register tile";
    }

    /**
     * Overwrites {@code c} with {@code a * b}, for the first {@code inner} rows and {@code cols} columns of {@code b}.
     *
     * @param a     row-major, row stride {@code lda}
     * @param inner at most {@code b.rows()}
     * @param cols  a multiple of {@link #LANES}, at most {@code b.cols()}
     * @param c     row-major, row stride {@code ldc}
     */
    static void multiply(float[] a, int lda, int rows, int inner, PackedMatrix b, int cols, float[] c, int ldc) {
        if (cols % LANES != 0 || cols > b.cols() || inner > b.rows()) {
            throw new IllegalArgumentException("a product of " + inner + " x " + cols + " (cols a multiple of "
                    + LANES + ") does not fit a packed matrix of " + b.rows() + " x " + b.cols());
        }
        int k0 = 0;
        do {
            int slice = Math.min(INNER_SLICE, inner - k0);
            multiplySlice(a, lda, k0, rows, slice, b, cols, c, ldc, k0 > 0);
            k0 += slice;
        } while (k0 < inner);
    }

    /**
     * {@code c = a * b} for a few rows, with {@code b} read where it lies: a row-major fp32 matrix at byte
     * {@code offset} of {@code b}, rows {@code ldb} floats apart. One vector of {@code C} at a time, each a pass
     * down {@code inner}: for fewer rows than a register tile (a decode step's) this reads {@code b} once from
     * memory and then from cache, where packing it would copy all of it first: a one-thread decode step at 1K tokens on
     * the development machine took 620 µs packing each block, 233-246 µs here.
     *
     * @param cols a multiple of {@link #LANES}
     */
    static void multiplyFew(float[] a, int lda, int rows, int inner, MemorySegment b, long offset, int ldb, int cols,
                            float[] c, int ldc) {
        long rowBytes = (long) ldb * Float.BYTES;
        int col = 0;
        for (; col + 4 * LANES <= cols; col += 4 * LANES) {
            for (int r = 0; r < rows; r++) {
                tile1x4(a, r * lda, inner, b, offset + (long) col * Float.BYTES, rowBytes, c, r * ldc + col, false);
            }
        }
        for (; col < cols; col += LANES) {
            for (int r = 0; r < rows; r++) {
                tile1x1(a, r * lda, inner, b, offset + (long) col * Float.BYTES, rowBytes, c, r * ldc + col, false);
            }
        }
    }

    /** {@code C} (+)= {@code A[:, k0 .. k0 + inner) * B[k0 .. k0 + inner)}. */
    private static void multiplySlice(float[] a, int lda, int k0, int rows, int inner, PackedMatrix packed, int cols,
                                      float[] c, int ldc, boolean accumulate) {
        MemorySegment b = packed.data();
        long panelBytes = (long) packed.rows() * PANEL_BYTES;
        int wideRows = rows - rows % TILE_ROWS;
        for (int col = 0; col < cols; col += PANEL) {
            long p = col / PANEL * panelBytes + k0 * PANEL_BYTES;
            int vectors = Math.min(PANEL, cols - col) / LANES;
            int v = 0;
            if (vectors == 4) {
                for (int r = 0; r < wideRows; r += TILE_ROWS) {
                    tile6x4(a, r * lda + k0, lda, inner, b, p, c, r * ldc + col, ldc, accumulate);
                }
                v = 4;
            }
            for (; v + 2 <= vectors; v += 2) {
                for (int r = 0; r < wideRows; r += TILE_ROWS) {
                    tile6x2(a, r * lda + k0, lda, inner, b, p + v * VECTOR_BYTES, c, r * ldc + col + v * LANES, ldc,
                            accumulate);
                }
            }
            for (; v < vectors; v++) {
                for (int r = 0; r < wideRows; r += TILE_ROWS) {
                    tile6x1(a, r * lda + k0, lda, inner, b, p + v * VECTOR_BYTES, c, r * ldc + col + v * LANES, ldc,
                            accumulate);
                }
            }
            for (int r = wideRows; r < rows; r++) {
                v = 0;
                if (vectors == 4) {
                    tile1x4(a, r * lda + k0, inner, b, p, PANEL_BYTES, c, r * ldc + col, accumulate);
                    v = 4;
                }
                for (; v < vectors; v++) {
                    tile1x1(a, r * lda + k0, inner, b, p + v * VECTOR_BYTES, PANEL_BYTES, c, r * ldc + col + v * LANES,
                            accumulate);
                }
            }
        }
    }

    private static void tile6x4(float[] a, int a0, int lda, int inner, MemorySegment b, long p, float[] c,
                                int o, int ldc, boolean accumulate) {
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector c00 = accumulate ? FloatVector.fromArray(SPECIES, c, o) : zero;
        FloatVector c01 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * LANES) : zero;
        FloatVector c02 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 2 * LANES) : zero;
        FloatVector c03 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 3 * LANES) : zero;
        FloatVector c10 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * ldc) : zero;
        FloatVector c11 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * ldc + 1 * LANES) : zero;
        FloatVector c12 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * ldc + 2 * LANES) : zero;
        FloatVector c13 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * ldc + 3 * LANES) : zero;
        FloatVector c20 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 2 * ldc) : zero;
        FloatVector c21 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 2 * ldc + 1 * LANES) : zero;
        FloatVector c22 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 2 * ldc + 2 * LANES) : zero;
        FloatVector c23 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 2 * ldc + 3 * LANES) : zero;
        FloatVector c30 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 3 * ldc) : zero;
        FloatVector c31 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 3 * ldc + 1 * LANES) : zero;
        FloatVector c32 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 3 * ldc + 2 * LANES) : zero;
        FloatVector c33 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 3 * ldc + 3 * LANES) : zero;
        FloatVector c40 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 4 * ldc) : zero;
        FloatVector c41 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 4 * ldc + 1 * LANES) : zero;
        FloatVector c42 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 4 * ldc + 2 * LANES) : zero;
        FloatVector c43 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 4 * ldc + 3 * LANES) : zero;
        FloatVector c50 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 5 * ldc) : zero;
        FloatVector c51 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 5 * ldc + 1 * LANES) : zero;
        FloatVector c52 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 5 * ldc + 2 * LANES) : zero;
        FloatVector c53 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 5 * ldc + 3 * LANES) : zero;
        for (int k = 0; k < inner; k++) {
            long row = p + k * PANEL_BYTES;
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, row, ORDER);
            FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, row + VECTOR_BYTES, ORDER);
            FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, b, row + 2 * VECTOR_BYTES, ORDER);
            FloatVector b3 = FloatVector.fromMemorySegment(SPECIES, b, row + 3 * VECTOR_BYTES, ORDER);
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
        c00.intoArray(c, o);
        c01.intoArray(c, o + 1 * LANES);
        c02.intoArray(c, o + 2 * LANES);
        c03.intoArray(c, o + 3 * LANES);
        c10.intoArray(c, o + 1 * ldc);
        c11.intoArray(c, o + 1 * ldc + 1 * LANES);
        c12.intoArray(c, o + 1 * ldc + 2 * LANES);
        c13.intoArray(c, o + 1 * ldc + 3 * LANES);
        c20.intoArray(c, o + 2 * ldc);
        c21.intoArray(c, o + 2 * ldc + 1 * LANES);
        c22.intoArray(c, o + 2 * ldc + 2 * LANES);
        c23.intoArray(c, o + 2 * ldc + 3 * LANES);
        c30.intoArray(c, o + 3 * ldc);
        c31.intoArray(c, o + 3 * ldc + 1 * LANES);
        c32.intoArray(c, o + 3 * ldc + 2 * LANES);
        c33.intoArray(c, o + 3 * ldc + 3 * LANES);
        c40.intoArray(c, o + 4 * ldc);
        c41.intoArray(c, o + 4 * ldc + 1 * LANES);
        c42.intoArray(c, o + 4 * ldc + 2 * LANES);
        c43.intoArray(c, o + 4 * ldc + 3 * LANES);
        c50.intoArray(c, o + 5 * ldc);
        c51.intoArray(c, o + 5 * ldc + 1 * LANES);
        c52.intoArray(c, o + 5 * ldc + 2 * LANES);
        c53.intoArray(c, o + 5 * ldc + 3 * LANES);
    }

    private static void tile6x2(float[] a, int a0, int lda, int inner, MemorySegment b, long p, float[] c,
                                int o, int ldc, boolean accumulate) {
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector c00 = accumulate ? FloatVector.fromArray(SPECIES, c, o) : zero;
        FloatVector c01 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * LANES) : zero;
        FloatVector c10 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * ldc) : zero;
        FloatVector c11 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * ldc + 1 * LANES) : zero;
        FloatVector c20 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 2 * ldc) : zero;
        FloatVector c21 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 2 * ldc + 1 * LANES) : zero;
        FloatVector c30 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 3 * ldc) : zero;
        FloatVector c31 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 3 * ldc + 1 * LANES) : zero;
        FloatVector c40 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 4 * ldc) : zero;
        FloatVector c41 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 4 * ldc + 1 * LANES) : zero;
        FloatVector c50 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 5 * ldc) : zero;
        FloatVector c51 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 5 * ldc + 1 * LANES) : zero;
        for (int k = 0; k < inner; k++) {
            long row = p + k * PANEL_BYTES;
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, row, ORDER);
            FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, row + VECTOR_BYTES, ORDER);
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
        c00.intoArray(c, o);
        c01.intoArray(c, o + 1 * LANES);
        c10.intoArray(c, o + 1 * ldc);
        c11.intoArray(c, o + 1 * ldc + 1 * LANES);
        c20.intoArray(c, o + 2 * ldc);
        c21.intoArray(c, o + 2 * ldc + 1 * LANES);
        c30.intoArray(c, o + 3 * ldc);
        c31.intoArray(c, o + 3 * ldc + 1 * LANES);
        c40.intoArray(c, o + 4 * ldc);
        c41.intoArray(c, o + 4 * ldc + 1 * LANES);
        c50.intoArray(c, o + 5 * ldc);
        c51.intoArray(c, o + 5 * ldc + 1 * LANES);
    }

    private static void tile6x1(float[] a, int a0, int lda, int inner, MemorySegment b, long p, float[] c,
                                int o, int ldc, boolean accumulate) {
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector c00 = accumulate ? FloatVector.fromArray(SPECIES, c, o) : zero;
        FloatVector c10 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * ldc) : zero;
        FloatVector c20 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 2 * ldc) : zero;
        FloatVector c30 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 3 * ldc) : zero;
        FloatVector c40 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 4 * ldc) : zero;
        FloatVector c50 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 5 * ldc) : zero;
        for (int k = 0; k < inner; k++) {
            long row = p + k * PANEL_BYTES;
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, row, ORDER);
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
            c00 = b0.fma(x, c00);
            x = FloatVector.broadcast(SPECIES, a[a0 + lda + k]);
            c10 = b0.fma(x, c10);
            x = FloatVector.broadcast(SPECIES, a[a0 + 2 * lda + k]);
            c20 = b0.fma(x, c20);
            x = FloatVector.broadcast(SPECIES, a[a0 + 3 * lda + k]);
            c30 = b0.fma(x, c30);
            x = FloatVector.broadcast(SPECIES, a[a0 + 4 * lda + k]);
            c40 = b0.fma(x, c40);
            x = FloatVector.broadcast(SPECIES, a[a0 + 5 * lda + k]);
            c50 = b0.fma(x, c50);
        }
        c00.intoArray(c, o);
        c10.intoArray(c, o + 1 * ldc);
        c20.intoArray(c, o + 2 * ldc);
        c30.intoArray(c, o + 3 * ldc);
        c40.intoArray(c, o + 4 * ldc);
        c50.intoArray(c, o + 5 * ldc);
    }

    /**
     * One row against four vectors of {@code B}, rows {@code rowBytes} apart (a panel's, or a matrix read where it
     * lies): four independent chains of FMAs, where one would wait on its latency (a decode step's rows).
     */
    private static void tile1x4(float[] a, int a0, int inner, MemorySegment b, long p, long rowBytes, float[] c, int o,
                                boolean accumulate) {
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector c00 = accumulate ? FloatVector.fromArray(SPECIES, c, o) : zero;
        FloatVector c01 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 1 * LANES) : zero;
        FloatVector c02 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 2 * LANES) : zero;
        FloatVector c03 = accumulate ? FloatVector.fromArray(SPECIES, c, o + 3 * LANES) : zero;
        for (int k = 0; k < inner; k++) {
            long row = p + k * rowBytes;
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
            c00 = FloatVector.fromMemorySegment(SPECIES, b, row, ORDER).fma(x, c00);
            c01 = FloatVector.fromMemorySegment(SPECIES, b, row + VECTOR_BYTES, ORDER).fma(x, c01);
            c02 = FloatVector.fromMemorySegment(SPECIES, b, row + 2 * VECTOR_BYTES, ORDER).fma(x, c02);
            c03 = FloatVector.fromMemorySegment(SPECIES, b, row + 3 * VECTOR_BYTES, ORDER).fma(x, c03);
        }
        c00.intoArray(c, o);
        c01.intoArray(c, o + 1 * LANES);
        c02.intoArray(c, o + 2 * LANES);
        c03.intoArray(c, o + 3 * LANES);
    }

    /** One row against one vector of {@code B}, rows {@code rowBytes} apart. */
    private static void tile1x1(float[] a, int a0, int inner, MemorySegment b, long p, long rowBytes, float[] c, int o,
                                boolean accumulate) {
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector c00 = accumulate ? FloatVector.fromArray(SPECIES, c, o) : zero;
        for (int k = 0; k < inner; k++) {
            long row = p + k * rowBytes;
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, row, ORDER);
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
            c00 = b0.fma(x, c00);
        }
        c00.intoArray(c, o);
    }
}
