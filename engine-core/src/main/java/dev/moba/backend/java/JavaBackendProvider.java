package dev.moba.backend.java;

import dev.moba.spi.Availability;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.BackendProvider;

/** Registers the pure-Java backend. It runs wherever Java 25 with the Vector API module runs. */
public final class JavaBackendProvider implements BackendProvider {

    public static final String ID = "java";

    @Override
    public String id() {
        return ID;
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public Availability availability() {
        return Availability.available("pure Java, " + MatMul.describe());
    }

    @Override
    public Backend create(BackendOptions options) {
        return new JavaBackend(options);
    }
}
