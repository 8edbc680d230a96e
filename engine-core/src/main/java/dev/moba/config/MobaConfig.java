package dev.moba.config;

import dev.moba.tensor.DType;

/**
 * The attention settings of one layer.
 *
 * @param blockSize tokens per KV block ({@code B}); at least 1
 * @param topK      blocks each query attends, the current block included ({@code K}); at least 1
 * @param scale     softmax scale; {@code NaN} means the default {@code 1/sqrt(headDim)}
 * @param dtype     storage type of q, k and v; accumulation is always fp32
 * @param mode      {@link AttentionMode#MOBA} or {@link AttentionMode#FULL}
 */
public record MobaConfig(int blockSize, int topK, float scale, DType dtype, AttentionMode mode) {

    public MobaConfig {
        if (blockSize < 1) throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
        if (topK < 1) throw new IllegalArgumentException("topK must be >= 1, got " + topK);
        if (!Float.isNaN(scale) && !(scale > 0 && Float.isFinite(scale))) {
            throw new IllegalArgumentException("scale must be a positive finite number (or NaN for 1/sqrt(D)), got " + scale);
        }
        if (dtype == null) throw new IllegalArgumentException("dtype must not be null");
        if (mode == null) throw new IllegalArgumentException("mode must not be null");
    }

    /** MoBA with the default scale and fp32 storage. */
    public static MobaConfig of(int blockSize, int topK) {
        return new MobaConfig(blockSize, topK, Float.NaN, DType.FP32, AttentionMode.MOBA);
    }

    public MobaConfig withScale(float newScale) {
        return new MobaConfig(blockSize, topK, newScale, dtype, mode);
    }

    public MobaConfig withDtype(DType newDtype) {
        return new MobaConfig(blockSize, topK, scale, newDtype, mode);
    }

    public MobaConfig withMode(AttentionMode newMode) {
        return new MobaConfig(blockSize, topK, scale, dtype, newMode);
    }

    /** The scale in effect for heads of dimension {@code headDim}. */
    public float scaleFor(int headDim) {
        return Float.isNaN(scale) ? (float) (1.0 / Math.sqrt(headDim)) : scale;
    }

    /** Earlier blocks a query may select besides its current block: {@code topK - 1}, or all of them in full mode. */
    public int historyPicks() {
        return mode == AttentionMode.FULL ? Integer.MAX_VALUE : topK - 1;
    }
}
