package dev.moba.demo;

import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.tensor.DType;
import java.util.Objects;

/**
 * What the demo runs: a document of {@code tokens} prefilled in chunks of {@code chunk} tokens, then {@code decode}
 * tokens one at a time, through {@code layers} layers of the same head geometry and MoBA settings.
 *
 * @param seed seed of the synthetic document: the same seed gives the same q, k and v
 */
public record DemoSpec(int tokens, int decode, int layers, HeadLayout layout, int blockSize, int topK, int chunk,
                       DType dtype, long seed) {

    public DemoSpec {
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(dtype, "dtype");
        if (tokens < 1) throw new IllegalArgumentException("tokens must be >= 1, got " + tokens);
        if (decode < 0) throw new IllegalArgumentException("decode must be >= 0, got " + decode);
        if (layers < 1) throw new IllegalArgumentException("layers must be >= 1, got " + layers);
        if (chunk < 1) throw new IllegalArgumentException("chunk must be >= 1, got " + chunk);
        if ((long) tokens + decode > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("tokens + decode must stay below " + Integer.MAX_VALUE / 2);
        }
        MobaConfig.of(blockSize, topK);
    }

    /** Every layer's attention settings. */
    public MobaConfig config() {
        return MobaConfig.of(blockSize, topK).withDtype(dtype);
    }

    /** Positions of the whole document: prefill and decode. */
    public int length() {
        return tokens + decode;
    }

    /** Blocks the whole document spans, the last one possibly partial. */
    public int blocks() {
        return (length() + blockSize - 1) / blockSize;
    }
}
