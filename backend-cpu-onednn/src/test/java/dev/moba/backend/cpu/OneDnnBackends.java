package dev.moba.backend.cpu;

import dev.moba.spi.BackendOptions;
import java.util.Map;

/** oneDNN backends shared by the tests of one JVM: one running inline, one on two workers. */
final class OneDnnBackends {

    static final OneDnnBackend INLINE = create(1);

    static final OneDnnBackend TWO_WORKERS = create(2);

    private OneDnnBackends() {}

    static OneDnnBackend of(int threads) {
        return threads == 1 ? INLINE : TWO_WORKERS;
    }

    private static OneDnnBackend create(int threads) {
        return (OneDnnBackend) new OneDnnBackendProvider()
                .create(new BackendOptions(threads, Map.of(OneDnnBackendProvider.NATIVE_THREADS, "1")));
    }
}
