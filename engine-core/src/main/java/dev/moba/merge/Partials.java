package dev.moba.merge;

import dev.moba.memory.SlabArena;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Attention results of query rows over some part of their keys: for each row, the normalised output
 * ({@code dim} fp32 values) and the log-sum-exp of its scaled scores. Rows are laid out as the queries:
 * {@code row = token * qHeads + head}, so {@link #output()} is directly the {@code [tokens, qHeads, dim]} tensor.
 */
public final class Partials {

    private final MemorySegment output;
    private final float[] lse;
    private final int dim;

    /** Wraps {@code output} ({@code lse.length * dim} fp32 values) and {@code lse}. */
    public Partials(MemorySegment output, float[] lse, int dim) {
        if (output.byteSize() != (long) lse.length * dim * Float.BYTES) {
            throw new IllegalArgumentException("output of " + output.byteSize() + " bytes for " + lse.length
                    + " rows of " + dim);
        }
        this.output = output;
        this.lse = lse;
        this.dim = dim;
    }

    /** Rows with no keys yet: output zero, lse {@code -infinity}. */
    public static Partials empty(Arena arena, int rows, int dim) {
        // An arena's allocate zeroes the memory: unwritten rows over it read as zero.
        return unwritten(arena.allocate((long) rows * dim * Float.BYTES, 64), rows, dim);
    }

    /**
     * {@link #unwritten(Arena, int, int)} over {@code output}, memory of {@code rows * dim} fp32 values that the
     * caller owns: results are folded where the caller reads them.
     */
    public static Partials unwritten(MemorySegment output, int rows, int dim) {
        float[] lse = new float[rows];
        Arrays.fill(lse, Float.NEGATIVE_INFINITY);
        return new Partials(output, lse, dim);
    }

    /**
     * Rows whose output the caller writes before it reads it ({@link RowStates} does): from a {@link SlabArena} the
     * memory is not zeroed first; lse {@code -infinity}.
     */
    public static Partials unwritten(Arena arena, int rows, int dim) {
        long bytes = (long) rows * dim * Float.BYTES;
        return unwritten(arena instanceof SlabArena slab ? slab.allocateUnzeroed(bytes, 64)
                : arena.allocate(bytes, 64), rows, dim);
    }

    public MemorySegment output() {
        return output;
    }

    public int rows() {
        return lse.length;
    }

    public int dim() {
        return dim;
    }

    public float lse(int row) {
        return lse[row];
    }

    public float output(int row, int d) {
        return output.getAtIndex(ValueLayout.JAVA_FLOAT, (long) row * dim + d);
    }

    /** Sets row {@code row}; used by backends that write results row by row. */
    public void setLse(int row, float value) {
        lse[row] = value;
    }

    /** Folds {@code other}, computed over keys disjoint from this one's, into this, row by row. */
    public void mergeFrom(Partials other) {
        if (other.rows() != rows() || other.dim != dim) {
            throw new IllegalArgumentException("cannot merge partials of " + other.rows() + "x" + other.dim
                    + " into " + rows() + "x" + dim);
        }
        long rowBytes = (long) dim * Float.BYTES;
        for (int r = 0; r < lse.length; r++) {
            lse[r] = OnlineSoftmax.mergeInto(output, r * rowBytes, lse[r], other.output, r * rowBytes,
                    other.lse[r], dim);
        }
    }
}
