package dev.moba.verify;

/** The chunk size both case paths take: tokens per step, 0 for one-shot. */
final class CaseChunks {

    private CaseChunks() {}

    static int requireChunk(int chunk) {
        if (chunk < 0) {
            throw new IllegalArgumentException("chunk must be >= 0 (0 = one-shot), got " + chunk);
        }
        return chunk;
    }

    static String describe(int chunk) {
        return chunk == 0 ? "one-shot" : "chunks of " + chunk;
    }
}
