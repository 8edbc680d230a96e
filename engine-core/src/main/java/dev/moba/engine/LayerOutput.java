package dev.moba.engine;

import dev.moba.tensor.Tensor;

/**
 * The attention output of one chunk: fp32 {@code [n, qHeads, headDim]} for positions
 * {@code position .. position + n - 1} of {@code layer}. The memory is the caller's: it is freed by the garbage
 * collector once the tensor is unreachable.
 */
public record LayerOutput(int layer, int position, Tensor output) {}
