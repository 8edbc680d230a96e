package dev.moba.backend.java;

import dev.moba.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/**
 * The right-hand matrix {@code B[rows][cols]} of {@link MatMul}, copied out of host memory into the order the kernel
 * reads it: panels of {@link MatMul#PANEL} columns, each panel its {@code rows} rows of {@code PANEL} contiguous floats. A
 * kernel then steps through a panel at a constant stride, which lets the JIT drop the bounds checks of its loads and
 * keeps the panel in few cache sets and pages; read where it lies (a row stride known only at run time) the same
 * kernel spent a good part of each step on address arithmetic and bounds checks.
 *
 * <p>One instance per worker, reused: packing a 512-key block head of dimension 128 (keys or values) copies 256 KB,
 * which the hundreds of query rows that read the block amortise. Its memory is off-heap and 64-byte aligned;
 * {@link #close()} frees it.
 */
final class PackedMatrix implements AutoCloseable {

    private static final int PANEL = MatMul.PANEL;

    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** The memory this matrix owns; {@code null} for a view of someone else's. */
    private Arena arena;
    private MemorySegment data = MemorySegment.NULL;
    private int rows;
    private int cols;

    /** An empty matrix that {@link #pack} fills, in memory of its own. */
    PackedMatrix() {
        this.arena = Arena.ofShared();
    }

    private PackedMatrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    /**
     * A matrix that already lies in panel order at {@code data} (an fp32 block of a {@link dev.moba.kv.HostKvCache}
     * cut into panels of {@link MatMul#PANEL}), 64-byte aligned; costs nothing, and {@link #close()} leaves the memory
     * alone.
     *
     * @param cols a multiple of {@link MatMul#PANEL}
     */
    static PackedMatrix over(MemorySegment data, int rows, int cols) {
        if (cols % PANEL != 0 || data.byteSize() < (long) rows * cols * Float.BYTES) {
            throw new IllegalArgumentException("a segment of " + data.byteSize() + " bytes does not hold " + rows
                    + " x " + cols + " floats in panels of " + PANEL);
        }
        return new PackedMatrix(data, rows, cols);
    }

    /** The packed elements; row {@code k} of panel {@code p} starts at float {@code p * rows() * PANEL + k * PANEL}. */
    MemorySegment data() {
        return data;
    }

    int rows() {
        return rows;
    }

    int cols() {
        return cols;
    }

    /**
     * Packs rows {@code [0, rows)} and columns {@code [0, cols)} of a row-major matrix of {@code dtype} elements
     * starting at element {@code base} of {@code source}, rows {@code ld} elements apart, widened to fp32.
     *
     * @param cols a multiple of {@link MatMul#LANES}, at most {@code ld}
     * @return this
     */
    PackedMatrix pack(MemorySegment source, long base, int ld, int rows, int cols, DType dtype) {
        if (arena == null) {
            throw new IllegalStateException("a view of a cache block is not packed into");
        }
        if (cols % MatMul.LANES != 0 || cols > ld) {
            throw new IllegalArgumentException("cols " + cols + " must be a multiple of " + MatMul.LANES
                    + " and at most the row stride " + ld);
        }
        int panels = (cols + PANEL - 1) / PANEL;
        long bytes = (long) panels * rows * PANEL * Float.BYTES;
        if (data.byteSize() < bytes) {
            arena.close();
            arena = Arena.ofShared();
            data = arena.allocate(bytes, 64);
        }
        this.rows = rows;
        this.cols = cols;
        switch (dtype) {
            case FP32 -> packFloats(source, base, ld, rows, cols);
            case BF16, FP16 -> packWidened(source, base, ld, rows, cols, dtype);
        }
        return this;
    }

    private void packFloats(MemorySegment source, long base, int ld, int rows, int cols) {
        for (int k = 0; k < rows; k++) {
            long row = (base + (long) k * ld) * Float.BYTES;
            for (int col = 0; col < cols; col += MatMul.LANES) {
                FloatVector.fromMemorySegment(MatMul.SPECIES, source, row + (long) col * Float.BYTES, ORDER)
                        .intoMemorySegment(data, index(rows, k, col) * Float.BYTES, ORDER);
            }
        }
    }

    /** Widens each row's run of a panel in one {@link DType#widen} call. */
    private void packWidened(MemorySegment source, long base, int ld, int rows, int cols, DType dtype) {
        for (int k = 0; k < rows; k++) {
            long row = base + (long) k * ld;
            for (int col = 0; col < cols; col += PANEL) {
                dtype.widen(source, row + col, data, index(rows, k, col), Math.min(PANEL, cols - col));
            }
        }
    }

    /** Where element {@code (k, col)} of a packed matrix of {@code rows} rows lies, in floats. */
    private static long index(int rows, int k, int col) {
        return (long) (col / PANEL) * rows * PANEL + (long) k * PANEL + col % PANEL;
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
        }
    }
}
