package dev.moba.backend.cpu;

import dev.moba.spi.Availability;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.BackendProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registration of the oneDNN (CPU) backend. It can run wherever the oneDNN library bundled with it loads; the
 * reason it gives names oneDNN's version and the instruction set its kernels use here.
 *
 * <p>Settings: {@code native-threads}, the OpenMP threads each engine worker lets oneDNN use (default 1: one
 * OpenMP thread per worker, the engine itself spreading work over workers, avoids OpenMP stalls on busy machines).
 */
public final class OneDnnBackendProvider implements BackendProvider {

    public static final String ID = "onednn";

    private static final Logger LOG = LoggerFactory.getLogger(OneDnnBackendProvider.class);

    /** Setting: OpenMP threads per engine worker. */
    public static final String NATIVE_THREADS = "native-threads";

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
        try {
            DnnlLibrary library = DnnlLibrary.get();
            return Availability.available("oneDNN " + library.version() + " loaded, kernels for " + library.isa());
        } catch (LinkageError | RuntimeException e) {
            return Availability.unavailable("the oneDNN native library cannot load here: " + e);
        }
    }

    @Override
    public Backend create(BackendOptions options) {
        String nativeThreads = options.settings().getOrDefault(NATIVE_THREADS, "1");
        int parsed;
        try {
            parsed = Integer.parseInt(nativeThreads.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("onednn setting " + NATIVE_THREADS + " must be a whole number, got '"
                    + nativeThreads + "'");
        }
        OneDnnBackend backend = new OneDnnBackend(DnnlLibrary.get(), options, parsed);
        LOG.info("backend 'onednn': {}", backend.describe());
        return backend;
    }
}
