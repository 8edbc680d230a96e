package dev.moba.backend.cuda;

import dev.moba.spi.Availability;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.BackendProvider;

/**
 * Registration of the CUDA (GPU) backend. Its kernels are not part of this release yet, so it reports itself
 * unavailable and {@code auto} passes it over with that reason.
 */
public final class CudaBackendProvider implements BackendProvider {

    public static final String ID = "cuda";

    @Override
    public String id() {
        return ID;
    }

    @Override
    public int priority() {
        return 200;
    }

    @Override
    public Availability availability() {
        return Availability.unavailable("the CUDA (GPU) kernels are not part of this release yet");
    }

    @Override
    public Backend create(BackendOptions options) {
        throw new UnsupportedOperationException("backend 'cuda' is not available: " + availability().reason());
    }
}
