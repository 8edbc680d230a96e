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
    /** Start values of a tile that overwrites {@code C} (the widest is 4 vectors), row stride 0; never written. */
    private static final float[] ZERO_ROW = new float[4 * LANES];

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
        multiply(a, lda, rows, inner, b, cols, c, ldc, INNER_SLICE);
    }

    /**
     * {@link #multiply} running {@code inner} in slices of {@code innerSlice} steps, each after the first adding to
     * {@code C}: with it, tests reach that accumulation on hardware whose own slice is the whole of {@code inner}.
     */
    static void multiply(float[] a, int lda, int rows, int inner, PackedMatrix b, int cols, float[] c, int ldc,
                         int innerSlice) {
        if (cols % LANES != 0 || cols > b.cols() || inner < 1 || inner > b.rows()) {
            throw new IllegalArgumentException("a product of " + inner + " x " + cols + " (cols a multiple of "
                    + LANES + ") does not fit a packed matrix of " + b.rows() + " x " + b.cols());
        }
        int k0 = 0;
        do {
            int slice = Math.min(innerSlice, inner - k0);
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
                tile1x4(a, r * lda, inner, b, offset + (long) col * Float.BYTES, rowBytes, c, r * ldc + col, ZERO_ROW,
                        0);
            }
        }
        for (; col < cols; col += LANES) {
            for (int r = 0; r < rows; r++) {
                tile1x1(a, r * lda, inner, b, offset + (long) col * Float.BYTES, rowBytes, c, r * ldc + col, ZERO_ROW,
                        0);
            }
        }
    }

    /**
     * {@code C} (+)= {@code A[:, k0 .. k0 + inner) * B[k0 .. k0 + inner)}.
     *
     * <p>Tiles read their start values from an array rather than branch on {@code accumulate}: {@code C} itself when
     * this slice adds to earlier ones, else {@link #ZERO_ROW} with row stride 0. The branch was seen one way until the
     * first product of more than one slice, and the recompilation its first change of direction forced is where the
     * JIT at times compiled the slow loop that {@link #rows} describes.
     */
    private static void multiplySlice(float[] a, int lda, int k0, int rows, int inner, PackedMatrix packed, int cols,
                                      float[] c, int ldc, boolean accumulate) {
        MemorySegment b = packed.data();
        long panelBytes = (long) packed.rows() * PANEL_BYTES;
        int wideRows = rows - rows % TILE_ROWS;
        float[] start = accumulate ? c : ZERO_ROW;
        int lds = accumulate ? ldc : 0;
        int own = accumulate ? -1 : 0; // masks a tile's offset in C to itself, or to 0 in the zero row
        for (int col = 0; col < cols; col += PANEL) {
            long p = col / PANEL * panelBytes + k0 * PANEL_BYTES;
            int vectors = Math.min(PANEL, cols - col) / LANES;
            int v = 0;
            if (vectors == 4) {
                for (int r = 0; r < wideRows; r += TILE_ROWS) {
                    int o = r * ldc + col;
                    tile6x4(a, r * lda + k0, lda, inner, b, p, c, o, ldc, start, o & own, lds);
                }
                v = 4;
            }
            for (; v + 2 <= vectors; v += 2) {
                for (int r = 0; r < wideRows; r += TILE_ROWS) {
                    int o = r * ldc + col + v * LANES;
                    tile6x2(a, r * lda + k0, lda, inner, b, p + v * VECTOR_BYTES, c, o, ldc, start, o & own, lds);
                }
            }
            for (; v < vectors; v++) {
                for (int r = 0; r < wideRows; r += TILE_ROWS) {
                    int o = r * ldc + col + v * LANES;
                    tile6x1(a, r * lda + k0, lda, inner, b, p + v * VECTOR_BYTES, c, o, ldc, start, o & own, lds);
                }
            }
            for (int r = wideRows; r < rows; r++) {
                v = 0;
                if (vectors == 4) {
                    int o = r * ldc + col;
                    tile1x4(a, r * lda + k0, inner, b, p, PANEL_BYTES, c, o, start, o & own);
                    v = 4;
                }
                for (; v < vectors; v++) {
                    int o = r * ldc + col + v * LANES;
                    tile1x1(a, r * lda + k0, inner, b, p + v * VECTOR_BYTES, PANEL_BYTES, c, o, start, o & own);
                }
            }
        }
    }

    /**
     * The part of {@code matrix} a tile reads: {@code inner} rows from byte {@code p}, {@code stride} bytes apart,
     * {@code width} bytes each. Made inside the tile's compilation, the slice's class and bounds are known to the JIT,
     * which checks them once before the loop. Reading the caller's segment in the loop, the JIT at times kept a
     * class, liveness and bounds check at every load, depending on what it had profiled when it compiled the tile: on
     * a 512-bit Xeon, 10 of 15 JVMs of one build did, and ran prefill 1.6 times slower; with this slice, none of 15.
     */
    private static MemorySegment rows(MemorySegment matrix, long p, int inner, long stride, long width) {
        return matrix.asSlice(p, (inner - 1) * stride + width);
    }

    private static void tile6x4(float[] a, int a0, int lda, int inner, MemorySegment matrix, long p, float[] c,
                                int o, int ldc, float[] start, int s0, int lds) {
        MemorySegment b = rows(matrix, p, inner, PANEL_BYTES, 4 * VECTOR_BYTES);
        FloatVector c00 = FloatVector.fromArray(SPECIES, start, s0);
        FloatVector c01 = FloatVector.fromArray(SPECIES, start, s0 + 1 * LANES);
        FloatVector c02 = FloatVector.fromArray(SPECIES, start, s0 + 2 * LANES);
        FloatVector c03 = FloatVector.fromArray(SPECIES, start, s0 + 3 * LANES);
        FloatVector c10 = FloatVector.fromArray(SPECIES, start, s0 + 1 * lds);
        FloatVector c11 = FloatVector.fromArray(SPECIES, start, s0 + 1 * lds + 1 * LANES);
        FloatVector c12 = FloatVector.fromArray(SPECIES, start, s0 + 1 * lds + 2 * LANES);
        FloatVector c13 = FloatVector.fromArray(SPECIES, start, s0 + 1 * lds + 3 * LANES);
        FloatVector c20 = FloatVector.fromArray(SPECIES, start, s0 + 2 * lds);
        FloatVector c21 = FloatVector.fromArray(SPECIES, start, s0 + 2 * lds + 1 * LANES);
        FloatVector c22 = FloatVector.fromArray(SPECIES, start, s0 + 2 * lds + 2 * LANES);
        FloatVector c23 = FloatVector.fromArray(SPECIES, start, s0 + 2 * lds + 3 * LANES);
        FloatVector c30 = FloatVector.fromArray(SPECIES, start, s0 + 3 * lds);
        FloatVector c31 = FloatVector.fromArray(SPECIES, start, s0 + 3 * lds + 1 * LANES);
        FloatVector c32 = FloatVector.fromArray(SPECIES, start, s0 + 3 * lds + 2 * LANES);
        FloatVector c33 = FloatVector.fromArray(SPECIES, start, s0 + 3 * lds + 3 * LANES);
        FloatVector c40 = FloatVector.fromArray(SPECIES, start, s0 + 4 * lds);
        FloatVector c41 = FloatVector.fromArray(SPECIES, start, s0 + 4 * lds + 1 * LANES);
        FloatVector c42 = FloatVector.fromArray(SPECIES, start, s0 + 4 * lds + 2 * LANES);
        FloatVector c43 = FloatVector.fromArray(SPECIES, start, s0 + 4 * lds + 3 * LANES);
        FloatVector c50 = FloatVector.fromArray(SPECIES, start, s0 + 5 * lds);
        FloatVector c51 = FloatVector.fromArray(SPECIES, start, s0 + 5 * lds + 1 * LANES);
        FloatVector c52 = FloatVector.fromArray(SPECIES, start, s0 + 5 * lds + 2 * LANES);
        FloatVector c53 = FloatVector.fromArray(SPECIES, start, s0 + 5 * lds + 3 * LANES);
        for (int k = 0; k < inner; k++) {
            long row = k * PANEL_BYTES;
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

    private static void tile6x2(float[] a, int a0, int lda, int inner, MemorySegment matrix, long p, float[] c,
                                int o, int ldc, float[] start, int s0, int lds) {
        MemorySegment b = rows(matrix, p, inner, PANEL_BYTES, 2 * VECTOR_BYTES);
        FloatVector c00 = FloatVector.fromArray(SPECIES, start, s0);
        FloatVector c01 = FloatVector.fromArray(SPECIES, start, s0 + 1 * LANES);
        FloatVector c10 = FloatVector.fromArray(SPECIES, start, s0 + 1 * lds);
        FloatVector c11 = FloatVector.fromArray(SPECIES, start, s0 + 1 * lds + 1 * LANES);
        FloatVector c20 = FloatVector.fromArray(SPECIES, start, s0 + 2 * lds);
        FloatVector c21 = FloatVector.fromArray(SPECIES, start, s0 + 2 * lds + 1 * LANES);
        FloatVector c30 = FloatVector.fromArray(SPECIES, start, s0 + 3 * lds);
        FloatVector c31 = FloatVector.fromArray(SPECIES, start, s0 + 3 * lds + 1 * LANES);
        FloatVector c40 = FloatVector.fromArray(SPECIES, start, s0 + 4 * lds);
        FloatVector c41 = FloatVector.fromArray(SPECIES, start, s0 + 4 * lds + 1 * LANES);
        FloatVector c50 = FloatVector.fromArray(SPECIES, start, s0 + 5 * lds);
        FloatVector c51 = FloatVector.fromArray(SPECIES, start, s0 + 5 * lds + 1 * LANES);
        for (int k = 0; k < inner; k++) {
            long row = k * PANEL_BYTES;
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

    private static void tile6x1(float[] a, int a0, int lda, int inner, MemorySegment matrix, long p, float[] c,
                                int o, int ldc, float[] start, int s0, int lds) {
        MemorySegment b = rows(matrix, p, inner, PANEL_BYTES, VECTOR_BYTES);
        FloatVector c00 = FloatVector.fromArray(SPECIES, start, s0);
        FloatVector c10 = FloatVector.fromArray(SPECIES, start, s0 + 1 * lds);
        FloatVector c20 = FloatVector.fromArray(SPECIES, start, s0 + 2 * lds);
        FloatVector c30 = FloatVector.fromArray(SPECIES, start, s0 + 3 * lds);
        FloatVector c40 = FloatVector.fromArray(SPECIES, start, s0 + 4 * lds);
        FloatVector c50 = FloatVector.fromArray(SPECIES, start, s0 + 5 * lds);
        for (int k = 0; k < inner; k++) {
            long row = k * PANEL_BYTES;
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
    private static void tile1x4(float[] a, int a0, int inner, MemorySegment matrix, long p, long rowBytes, float[] c, int o,
                                float[] start, int s0) {
        MemorySegment b = rows(matrix, p, inner, rowBytes, 4 * VECTOR_BYTES);
        FloatVector c00 = FloatVector.fromArray(SPECIES, start, s0);
        FloatVector c01 = FloatVector.fromArray(SPECIES, start, s0 + 1 * LANES);
        FloatVector c02 = FloatVector.fromArray(SPECIES, start, s0 + 2 * LANES);
        FloatVector c03 = FloatVector.fromArray(SPECIES, start, s0 + 3 * LANES);
        for (int k = 0; k < inner; k++) {
            long row = k * rowBytes;
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
    private static void tile1x1(float[] a, int a0, int inner, MemorySegment matrix, long p, long rowBytes, float[] c, int o,
                                float[] start, int s0) {
        MemorySegment b = rows(matrix, p, inner, rowBytes, VECTOR_BYTES);
        FloatVector c00 = FloatVector.fromArray(SPECIES, start, s0);
        for (int k = 0; k < inner; k++) {
            long row = k * rowBytes;
            FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, row, ORDER);
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
            c00 = b0.fma(x, c00);
        }
        c00.intoArray(c, o);
    }
}
