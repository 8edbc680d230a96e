package dev.moba.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.moba.backend.Backends;
import dev.moba.spi.Backend;
import java.util.HashMap;
import java.util.Map;

/**
 * Opens the backend of a command: the configuration ({@code reference.conf}, {@code application.conf} or
 * {@code -Dconfig.file}, {@code -D} overrides) with the command's own {@code --backend} and {@code --threads} on top,
 * so the plugin folder and backend settings apply to the command line too.
 */
final class ConfiguredBackend {

    private ConfiguredBackend() {}

    /**
     * @param name    backend name, or {@code null} for the configured one
     * @param threads worker threads, or {@code null} for the configured number
     */
    static Backend open(String name, Integer threads) {
        return Backends.open(config(name, threads));
    }

    /**
     * The configuration with {@code name} and {@code threads} on top, for commands that choose the backend
     * themselves ({@link Backends#select(Config)}) or start an engine.
     */
    static Config config(String name, Integer threads) {
        if (threads != null && threads < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, got " + threads
                    + "; e.g. --threads 2, or leave it out for moba.threads");
        }
        Map<String, Object> overrides = new HashMap<>();
        if (name != null) {
            overrides.put("moba.backend", name);
        }
        if (threads != null) {
            overrides.put("moba.threads", threads);
        }
        return ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.load());
    }
}
