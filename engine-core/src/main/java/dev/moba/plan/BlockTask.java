package dev.moba.plan;

/**
 * One block of attention work: the query rows that read block {@code block} of one kv head.
 *
 * @param block  block number within the sequence
 * @param rows   query rows ({@code token * qHeads + head}, tokens local to the chunk), ascending
 * @param causal whether this is the rows' current block, where a query sees only keys at or before its position
 */
public record BlockTask(int block, int[] rows, boolean causal) {

    /** The index in {@link #rows} of the first row at or after {@code row}; {@code rows.length} when there is none. */
    public int rowsFrom(int row) {
        int lo = 0;
        int hi = rows.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (rows[mid] < row) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
