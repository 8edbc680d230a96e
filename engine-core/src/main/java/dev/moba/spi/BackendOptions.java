package dev.moba.spi;

import java.util.Map;
import java.util.Objects;

/**
 * Settings every backend understands, plus settings of one backend.
 *
 * @param threads  worker threads the backend may use for one call; at least 1
 * @param settings backend-specific settings by name (configuration section {@code moba.backends.<id>}); a backend
 *                 ignores names it does not know
 */
public record BackendOptions(int threads, Map<String, String> settings) {

    public BackendOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        settings = Map.copyOf(Objects.requireNonNull(settings, "settings"));
    }

    /** {@code threads} workers, no backend-specific settings. */
    public BackendOptions(int threads) {
        this(threads, Map.of());
    }

    /** One thread per available processor. */
    public static BackendOptions defaults() {
        return new BackendOptions(Runtime.getRuntime().availableProcessors());
    }
}
