package dev.moba.config;

/**
 * The head geometry of one attention layer: {@code qHeads} query heads read {@code kvHeads} key/value heads of
 * dimension {@code headDim}. Query head {@code h} reads kv head {@code h / groupSize()}.
 */
public record HeadLayout(int qHeads, int kvHeads, int headDim) {

    public HeadLayout {
        if (qHeads < 1) throw new IllegalArgumentException("qHeads must be >= 1, got " + qHeads);
        if (kvHeads < 1) throw new IllegalArgumentException("kvHeads must be >= 1, got " + kvHeads);
        if (headDim < 1) throw new IllegalArgumentException("headDim must be >= 1, got " + headDim);
        if (qHeads % kvHeads != 0) {
            throw new IllegalArgumentException(
                    "qHeads (" + qHeads + ") must be a multiple of kvHeads (" + kvHeads + ")");
        }
    }

    /** Query heads per kv head. */
    public int groupSize() {
        return qHeads / kvHeads;
    }

    /** The kv head that query head {@code h} reads. */
    public int kvHeadOf(int h) {
        return h / groupSize();
    }
}
