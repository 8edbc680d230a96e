package dev.moba.actor;

import dev.moba.engine.SessionSpec;
import java.time.Duration;

/**
 * How a session actor runs.
 *
 * @param blocksPerShard KV blocks each block shard owns ({@code moba.session.blocks-per-shard})
 * @param queueCapacity  commands a busy session holds before it refuses more ({@code moba.session.queue-capacity})
 * @param linger         how long a closed session keeps answering with a clear error before it stops
 * @param dispatcher     config path of the dispatcher the session and its shards run on
 */
public record SessionSettings(String id, SessionSpec spec, int blocksPerShard, int queueCapacity, Duration linger,
                              String dispatcher) {

    public SessionSettings {
        if (blocksPerShard < 1) {
            throw new IllegalArgumentException("blocks per shard must be >= 1, got " + blocksPerShard);
        }
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("session queue capacity must be >= 1, got " + queueCapacity);
        }
    }
}
