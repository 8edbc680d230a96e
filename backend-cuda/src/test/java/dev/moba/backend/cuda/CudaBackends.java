package dev.moba.backend.cuda;

import dev.moba.spi.BackendOptions;
import java.util.Map;

/** The CUDA backend shared by the GPU tests of one JVM, opened on first use (kernels compile once). */
final class CudaBackends {

    private CudaBackends() {}

    static CudaBackend shared() {
        return Holder.BACKEND;
    }

    private static final class Holder {
        static final CudaBackend BACKEND = (CudaBackend) new CudaBackendProvider()
                .create(new BackendOptions(2, Map.of(CudaBackendProvider.KERNEL_CACHE, "none")));
    }
}
