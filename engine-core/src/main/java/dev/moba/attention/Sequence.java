package dev.moba.attention;

import dev.moba.kv.SummaryTable;
import dev.moba.spi.KvCache;

/**
 * One sequence (a document) of one layer: its KV storage on the backend and, on the router's side, the mean keys
 * of its sealed blocks. Created by {@link MobaAttention#openSequence()}; grows with every chunk; closing it frees
 * its memory at once.
 */
public final class Sequence implements AutoCloseable {

    private final MobaAttention owner;
    private final KvCache cache;
    private final SummaryTable summaries;
    private boolean closed;

    Sequence(MobaAttention owner, KvCache cache, SummaryTable summaries) {
        this.owner = owner;
        this.cache = cache;
        this.summaries = summaries;
    }

    /** Tokens accepted so far: the position of the next token. */
    public int length() {
        return cache.length();
    }

    /** Sealed (complete) blocks. */
    public int sealedBlocks() {
        return summaries.blocks();
    }

    /** Off-heap bytes held by this sequence: KV blocks and summaries. */
    public long bytesReserved() {
        return closed ? 0 : cache.bytesReserved() + summaries.bytesReserved();
    }

    /** The backend storage, for tools that read keys and values back. */
    public KvCache cache() {
        return cache;
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            cache.close();
            summaries.close();
            owner.forget(this);
        }
    }

    MobaAttention owner() {
        return owner;
    }

    SummaryTable summaries() {
        return summaries;
    }
}
