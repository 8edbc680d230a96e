package dev.moba.spi;

/**
 * A block that has just become complete.
 *
 * @param index block number within its sequence
 * @param mean  the fp32 mean key, {@code [kvHeads][headDim]} row-major
 */
public record SealedBlock(int index, float[] mean) {}
