package dev.moba.engine;

import dev.moba.tensor.Tensor;

/** The q, k and v of the next tokens of a layer that is implied, as a per-layer stream carries them. */
public record Tokens(Tensor q, Tensor k, Tensor v) {

    /** This chunk as the next one of {@code layer}. */
    public LayerChunk forLayer(int layer) {
        return LayerChunk.next(layer, q, k, v);
    }
}
