package dev.moba.benchmarks;

/**
 * The arithmetic a prefill really needs, for effective-throughput figures: {@code 4 * headDim} flops per
 * query-key pair attended (two per element for the scores, two for the weighted sum of values).
 */
public final class AttentionWork {

    private AttentionWork() {}

    /**
     * Query-key pairs of a causal prefill of {@code tokens} tokens over {@code qHeads} heads where each query reads
     * its current block up to itself plus {@code min(historyBlocks, blocks before it)} whole earlier blocks
     * ({@code historyBlocks = Integer.MAX_VALUE} for dense attention).
     */
    public static long pairs(long tokens, int qHeads, int blockSize, int historyBlocks) {
        long pairs = 0;
        for (long t = 0; t < tokens; t++) {
            long current = t / blockSize;
            pairs += Math.min(historyBlocks, current) * blockSize + (t - current * blockSize + 1);
        }
        return pairs * qHeads;
    }

    /** Flops of {@link #pairs}: {@code 4 * headDim} per pair. */
    public static double flops(long tokens, int qHeads, int headDim, int blockSize, int historyBlocks) {
        return 4.0 * headDim * pairs(tokens, qHeads, blockSize, historyBlocks);
    }
}
