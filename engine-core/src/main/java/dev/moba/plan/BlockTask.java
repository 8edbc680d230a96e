package dev.moba.plan;

/**
 * One block of attention work: the query rows that read block {@code block} of one kv head.
 *
 * @param block  block number within the sequence
 * @param rows   query rows ({@code token * qHeads + head}, tokens local to the chunk), ascending
 * @param causal whether this is the rows' current block, where a query sees only keys at or before its position
 */
public record BlockTask(int block, int[] rows, boolean causal) {}
