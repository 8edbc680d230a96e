package dev.moba.cli;

import com.typesafe.config.Config;
import dev.moba.spi.Backend;
import picocli.CommandLine.Option;

/**
 * The {@code --backend} and {@code --threads} options of a command that runs on the configured backend unless told
 * otherwise: add it with {@code @Mixin BackendFlags backend;}, then {@link #open()} the backend, or take the
 * {@link #config()} to choose it or start an engine with. {@code verify} has its own pair: it defaults to
 * {@code java}, the backend the reference cases are checked on.
 */
final class BackendFlags {

    @Option(names = "--backend", paramLabel = "NAME",
            description = "Backend: auto, java, onednn, cuda or a plugin id (default: moba.backend, auto).")
    private String name;

    @Option(names = "--threads", paramLabel = "T",
            description = "Backend worker threads (default: moba.threads, all processors).")
    private Integer threads;

    /** Opens the backend named, or the configured one; the caller closes it. Costs what opening the backend costs. */
    Backend open() {
        return ConfiguredBackend.open(name, threads);
    }

    /** The configuration with these options on top (see {@link ConfiguredBackend#config}). */
    Config config() {
        return ConfiguredBackend.config(name, threads);
    }

    /** The worker threads asked for, or {@code null} for the configured number. */
    Integer threads() {
        return threads;
    }
}
