package dev.moba.spi;

/**
 * Settings every backend understands.
 *
 * @param threads worker threads the backend may use for one call; at least 1
 */
public record BackendOptions(int threads) {

    public BackendOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }

    /** One thread per available processor. */
    public static BackendOptions defaults() {
        return new BackendOptions(Runtime.getRuntime().availableProcessors());
    }
}
