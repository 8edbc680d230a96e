package dev.moba.attention;

import dev.moba.tensor.Tensor;

/**
 * The next tokens of one sequence for one layer: queries {@code [n, qHeads, headDim]}, keys and values
 * {@code [n, kvHeads, headDim]}, for positions {@code sequence.length() .. sequence.length() + n - 1}.
 */
public record Chunk(Sequence sequence, Tensor q, Tensor k, Tensor v) {}
