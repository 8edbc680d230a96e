package dev.moba.backend.java;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Working memory of one worker thread: a tile of gathered queries, its score/probability rows, its output rows,
 * and an fp32 copy of one block head for storage types other than fp32. Buffers grow on demand and are reused
 * across calls; the off-heap part is freed by {@link #close()}.
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
    private Arena decodedArena = Arena.ofShared();
    private MemorySegment decoded = MemorySegment.NULL;

    void ensure(int dim, int paddedCols, int paddedDim) {
        if (queries.length < TILE_ROWS * dim) queries = new float[TILE_ROWS * dim];
        if (scores.length < TILE_ROWS * paddedCols) scores = new float[TILE_ROWS * paddedCols];
        if (outputs.length < TILE_ROWS * paddedDim) outputs = new float[TILE_ROWS * paddedDim];
    }

    void ensureTopK(int picks) {
        if (topWork.length < picks) topWork = new float[picks];
    }

    /** An fp32 buffer of at least {@code bytes}; contents are overwritten by the caller. */
    MemorySegment decodeBuffer(long bytes) {
        if (decoded.byteSize() < bytes) {
            decodedArena.close();
            decodedArena = Arena.ofShared();
            decoded = decodedArena.allocate(bytes, 64);
        }
        return decoded;
    }

    @Override
    public void close() {
        decodedArena.close();
    }
}
