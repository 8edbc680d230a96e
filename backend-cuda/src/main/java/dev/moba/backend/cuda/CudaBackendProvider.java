package dev.moba.backend.cuda;

import static dev.moba.backend.cuda.CudaCalls.check;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetCount;
import static org.bytedeco.cuda.global.cudart.cuInit;

import dev.moba.spi.Availability;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.BackendProvider;
import java.nio.file.Path;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.Loader;

/**
 * Registration of the CUDA (GPU) backend. It is available where the CUDA driver and NVRTC libraries load and a GPU
 * is present; {@code auto} prefers it over every CPU backend.
 *
 * <p>Settings ({@code moba.backends.cuda}): {@code device}, the GPU ordinal (default 0); {@code kernel-cache}, the
 * folder for compiled kernels (default {@code ~/.cache/moba-engine/cuda}; {@code none} compiles at every start).
 */
public final class CudaBackendProvider implements BackendProvider {

    public static final String ID = "cuda";
    public static final String DEVICE = "device";
    public static final String KERNEL_CACHE = "kernel-cache";

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
        try {
            Loader.load(cudart.class);
            Loader.load(nvrtc.class);
            check(cuInit(0), "cuInit");
            int[] count = new int[1];
            check(cuDeviceGetCount(count), "cuDeviceGetCount");
            if (count[0] == 0) {
                return Availability.unavailable("the CUDA driver found no GPU");
            }
            return Availability.available(count[0] + " CUDA GPU(s) present");
        } catch (UnsatisfiedLinkError e) {
            return Availability.unavailable("the CUDA 13 libraries (driver, runtime, NVRTC) do not load here: "
                    + e.getMessage());
        } catch (RuntimeException e) {
            return Availability.unavailable("the CUDA driver cannot be used here: " + e.getMessage());
        }
    }

    @Override
    public Backend create(BackendOptions options) {
        Availability availability = availability();
        if (!availability.available()) {
            throw new IllegalStateException("backend 'cuda' is not available: " + availability.reason());
        }
        int ordinal = Integer.parseInt(options.settings().getOrDefault(DEVICE, "0"));
        String cache = options.settings().getOrDefault(KERNEL_CACHE,
                Path.of(System.getProperty("user.home"), ".cache", "moba-engine", "cuda").toString());
        CudaDevice device = CudaDevice.open(ordinal);
        try {
            return new CudaBackend(device, new KernelCompiler("none".equals(cache) ? null : Path.of(cache)), options);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }
}
