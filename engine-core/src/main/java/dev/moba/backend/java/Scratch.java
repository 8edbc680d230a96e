package dev.moba.backend.java;

/**
 * Working memory of one worker thread: a tile of gathered queries, its score/probability rows, its output rows,
 * and one block head packed for the kernel. Buffers grow on demand and are reused across calls; the off-heap part
 * is freed by {@link #close()}.
 */
final class Scratch implements AutoCloseable {

    /**
     * Query rows processed together: a multiple of the kernel's 6-row tile and of common GQA group sizes, small
     * enough that a tile's scores against a 512-key block (96 KB) stay in L2 beside the block.
     */
    static final int TILE_ROWS = 48;

    float[] queries = new float[0];
    float[] scores = new float[0];
    float[] outputs = new float[0];
    final float[] rowMax = new float[TILE_ROWS];
    final float[] rowSum = new float[TILE_ROWS];
    float[] topWork = new float[0];
    /** The right-hand matrices of the kernel: a block's keys (or the block means), and its values. */
    final PackedMatrix keys = new PackedMatrix();
    final PackedMatrix values = new PackedMatrix();

    void ensure(int dim, int paddedCols, int paddedDim) {
        if (queries.length < TILE_ROWS * dim) queries = new float[TILE_ROWS * dim];
        if (scores.length < TILE_ROWS * paddedCols) scores = new float[TILE_ROWS * paddedCols];
        if (outputs.length < TILE_ROWS * paddedDim) outputs = new float[TILE_ROWS * paddedDim];
    }

    void ensureTopK(int picks) {
        if (topWork.length < picks) topWork = new float[picks];
    }

    @Override
    public void close() {
        keys.close();
        values.close();
    }
}
