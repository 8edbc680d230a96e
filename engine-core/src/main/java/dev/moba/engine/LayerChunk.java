package dev.moba.engine;

import dev.moba.tensor.Tensor;

/**
 * The next tokens of one layer of a session: queries {@code [n, qHeads, headDim]}, keys and values
 * {@code [n, kvHeads, headDim]} for positions {@code position .. position + n - 1}. The engine reads the tensors
 * until the chunk's output is delivered; the caller keeps their memory alive until then.
 *
 * @param position the first token's position, which must equal the layer's length; {@link #NEXT} means "wherever
 *                 the layer stands"
 */
public record LayerChunk(int layer, int position, Tensor q, Tensor k, Tensor v) {

    /** The position of a chunk that continues its layer without stating where. */
    public static final int NEXT = -1;

    public LayerChunk {
        if (position < NEXT) {
            throw new InvalidChunkException("position must be >= 0 (or LayerChunk.NEXT), got " + position);
        }
    }

    /** A chunk that continues {@code layer} wherever it stands. */
    public static LayerChunk next(int layer, Tensor q, Tensor k, Tensor v) {
        return new LayerChunk(layer, NEXT, q, k, v);
    }

    /** Tokens in the chunk. */
    public int tokens() {
        return q == null ? 0 : q.tokens();
    }
}
