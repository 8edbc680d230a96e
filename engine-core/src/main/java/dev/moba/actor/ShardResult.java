package dev.moba.actor;

import dev.moba.merge.Partials;
import java.lang.foreign.Arena;

/**
 * The partials a block shard computed for one chunk, with the memory that holds them. Delivered in a reply, it
 * hands that memory to the receiver, which closes it once merged.
 */
public final class ShardResult implements AutoCloseable {

    private final Partials partials;
    private final Arena arena;

    ShardResult(Partials partials, Arena arena) {
        this.partials = partials;
        this.arena = arena;
    }

    public Partials partials() {
        return partials;
    }

    @Override
    public void close() {
        arena.close();
    }
}
