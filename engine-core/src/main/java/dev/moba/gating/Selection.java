package dev.moba.gating;

/**
 * The history blocks chosen for each query row of a chunk.
 *
 * <p>Row {@code r = token * qHeads + head} owns the slots {@code blocks[r * picks .. (r + 1) * picks)}: selected
 * block numbers in ascending order, then {@code -1} for unused slots (a query with fewer candidates than picks).
 *
 * @param rows   query rows
 * @param picks  slots per row
 * @param blocks {@code rows * picks} block numbers
 */
public record Selection(int rows, int picks, int[] blocks) {

    public Selection {
        if (blocks.length != (long) rows * picks) {
            throw new IllegalArgumentException(blocks.length + " slots for " + rows + " rows of " + picks + " picks");
        }
    }

    /** A selection of no history blocks for {@code rows} rows. */
    public static Selection none(int rows) {
        return new Selection(rows, 0, new int[0]);
    }

    /** The block in slot {@code slot} of row {@code row}, or {@code -1}. */
    public int block(int row, int slot) {
        return blocks[row * picks + slot];
    }
}
