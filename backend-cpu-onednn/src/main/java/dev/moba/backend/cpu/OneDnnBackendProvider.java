package dev.moba.backend.cpu;

import dev.moba.spi.Availability;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.BackendProvider;

/**
 * Registration of the oneDNN (CPU) backend. Its kernels are not part of this release yet, so it reports itself
 * unavailable and {@code auto} passes it over with that reason.
 */
public final class OneDnnBackendProvider implements BackendProvider {

    public static final String ID = "onednn";

    @Override
    public String id() {
        return ID;
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public Availability availability() {
        return Availability.unavailable("the oneDNN (CPU) kernels are not part of this release yet");
    }

    @Override
    public Backend create(BackendOptions options) {
        throw new UnsupportedOperationException("backend 'onednn' is not available: " + availability().reason());
    }
}
