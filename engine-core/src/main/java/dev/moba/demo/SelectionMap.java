package dev.moba.demo;

import java.util.Objects;

/**
 * How often each key block was selected by the queries of each query block, per layer: one count per
 * (query token, query head, selected block), the always-read current block included, so the diagonal holds the
 * query rows of each block. Holds {@code layers * blocks * blocks} ints. Not thread-safe.
 */
public final class SelectionMap {

    private final int layers;
    private final int blocks;
    private final int[][] counts;

    public SelectionMap(int layers, int blocks) {
        if (layers < 1 || blocks < 1) {
            throw new IllegalArgumentException("a selection map needs layers and blocks >= 1, got " + layers + " and "
                    + blocks);
        }
        this.layers = layers;
        this.blocks = blocks;
        this.counts = new int[layers][Math.multiplyExact(blocks, blocks)];
    }

    /** Counts one selection of {@code keyBlock} by a query row of {@code queryBlock}. */
    public void add(int layer, int queryBlock, int keyBlock) {
        counts[layer][index(queryBlock, keyBlock)]++;
    }

    public int count(int layer, int queryBlock, int keyBlock) {
        return counts[layer][index(queryBlock, keyBlock)];
    }

    /**
     * The share of {@code queryBlock}'s query rows that selected {@code keyBlock}: 0 to 1, 1 on the diagonal of a
     * block that has queries.
     */
    public double share(int layer, int queryBlock, int keyBlock) {
        int rows = count(layer, queryBlock, queryBlock);
        return rows == 0 ? 0 : (double) count(layer, queryBlock, keyBlock) / rows;
    }

    public int layers() {
        return layers;
    }

    public int blocks() {
        return blocks;
    }

    private int index(int queryBlock, int keyBlock) {
        Objects.checkIndex(queryBlock, blocks);
        Objects.checkIndex(keyBlock, blocks);
        return queryBlock * blocks + keyBlock;
    }
}
