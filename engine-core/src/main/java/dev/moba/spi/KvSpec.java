package dev.moba.spi;

import dev.moba.tensor.DType;

/**
 * The shape of the KV storage of one sequence of one layer.
 *
 * @param kvHeads   key/value heads
 * @param headDim   elements per head
 * @param blockSize tokens per block
 * @param dtype     storage type of keys and values
 */
public record KvSpec(int kvHeads, int headDim, int blockSize, DType dtype) {

    public KvSpec {
        if (kvHeads < 1 || headDim < 1 || blockSize < 1) {
            throw new IllegalArgumentException("kvHeads, headDim and blockSize must be >= 1, got "
                    + kvHeads + ", " + headDim + ", " + blockSize);
        }
        if (dtype == null) throw new IllegalArgumentException("dtype must not be null");
    }
}
