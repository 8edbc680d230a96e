package dev.moba.engine;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.time.Duration;

/**
 * The engine's settings, read from the {@code moba} section of a HOCON configuration (defaults in the core's
 * {@code reference.conf}; every key is explained in {@code config/README.md}).
 *
 * <p>The backend is chosen from the same configuration by {@link dev.moba.backend.Backends#open(Config)}.
 *
 * @param memoryBudget   the most off-heap bytes the engine's sessions may hold
 * @param blocksPerShard KV blocks per block shard
 * @param queueCapacity  commands a busy session holds before it refuses more
 * @param replyTimeout   the longest a caller waits for one chunk's answer
 * @param closeLinger    how long a closed session still answers with a clear error
 * @param eventLoops     single-threaded dispatchers sessions and their shards run on, 0 for one per processor
 * @param spinBeforeSleep how long an idle event loop polls for the next chunk before it sleeps
 */
public record EngineSettings(long memoryBudget, int blocksPerShard, int queueCapacity,
                             Duration replyTimeout, Duration closeLinger, int eventLoops,
                             Duration spinBeforeSleep) {

    public EngineSettings {
        if (memoryBudget < 0) {
            throw new IllegalArgumentException("moba.memory.budget must be >= 0 bytes, got " + memoryBudget);
        }
        if (blocksPerShard < 1) {
            throw new IllegalArgumentException("moba.session.blocks-per-shard must be >= 1, got " + blocksPerShard);
        }
        if (eventLoops < 0) {
            throw new IllegalArgumentException("moba.session.event-loops must be >= 0, got " + eventLoops);
        }
        if (spinBeforeSleep.isNegative()) {
            throw new IllegalArgumentException("moba.session.spin-before-sleep must be >= 0, got " + spinBeforeSleep);
        }
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("moba.session.queue-capacity must be >= 1, got " + queueCapacity);
        }
    }

    /** Reads {@code config}'s {@code moba} section; a missing or mistyped key is an error that names it. */
    public static EngineSettings from(Config config) {
        try {
            Config moba = config.getConfig("moba");
            return new EngineSettings(
                    moba.getBytes("memory.budget"),
                    moba.getInt("session.blocks-per-shard"),
                    moba.getInt("session.queue-capacity"),
                    moba.getDuration("session.reply-timeout"),
                    moba.getDuration("session.close-linger"),
                    moba.getInt("session.event-loops"),
                    moba.getDuration("session.spin-before-sleep"));
        } catch (ConfigException e) {
            throw new IllegalArgumentException("bad engine configuration: " + e.getMessage(), e);
        }
    }
}
