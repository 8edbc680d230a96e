package dev.moba.engine;

import dev.moba.tensor.Tensor;

/**
 * The next tokens of one layer of a session: queries {@code [n, qHeads, headDim]}, keys and values
 * {@code [n, kvHeads, headDim]} for positions {@code position .. position + n - 1}. The engine reads the tensors
 * until the chunk's output is delivered; the caller keeps their memory alive until then.
 *
 * @param position the first token's position, which must equal the layer's length; {@link #NEXT} means "wherever
 *                 the layer stands"
 * @param output   where the engine writes the output (fp32 {@code [n, qHeads, headDim]} in shared memory, which the
 *                 engine's threads can write), or null: the engine then allocates it in memory the garbage
 *                 collector frees, which costs a fresh allocation per chunk (page faults for big prefill chunks)
 */
public record LayerChunk(int layer, int position, Tensor q, Tensor k, Tensor v, Tensor output) {

    /** The position of a chunk that continues its layer without stating where. */
    public static final int NEXT = -1;

    public LayerChunk {
        if (position < NEXT) {
            throw new InvalidChunkException("position must be >= 0 (or LayerChunk.NEXT), got " + position);
        }
    }

    /** A chunk whose output the engine allocates. */
    public LayerChunk(int layer, int position, Tensor q, Tensor k, Tensor v) {
        this(layer, position, q, k, v, null);
    }

    /** This chunk, with its output written to {@code output} (see {@link LayerChunk}), for example a model's buffer. */
    public LayerChunk into(Tensor output) {
        return new LayerChunk(layer, position, q, k, v, output);
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
