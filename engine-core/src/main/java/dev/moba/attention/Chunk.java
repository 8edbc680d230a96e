package dev.moba.attention;

import dev.moba.tensor.Tensor;

/**
 * The next tokens of one sequence for one layer: queries {@code [n, qHeads, headDim]}, keys and values
 * {@code [n, kvHeads, headDim]}, for positions {@code position .. position + n - 1}.
 *
 * @param position the position of the first token, which must equal the sequence's length (no gaps, no repeats);
 *                 {@link #NEXT} means "wherever the sequence stands"
 */
public record Chunk(Sequence sequence, int position, Tensor q, Tensor k, Tensor v) {

    /** The position of a chunk that continues its sequence without stating where. */
    public static final int NEXT = -1;

    public Chunk {
        if (position < NEXT) {
            throw new IllegalArgumentException("position must be >= 0 (or Chunk.NEXT), got " + position);
        }
    }

    /** A chunk that continues {@code sequence} wherever it stands. */
    public Chunk(Sequence sequence, Tensor q, Tensor k, Tensor v) {
        this(sequence, NEXT, q, k, v);
    }
}
