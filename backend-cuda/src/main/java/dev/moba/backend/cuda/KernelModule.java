package dev.moba.backend.cuda;

import static dev.moba.backend.cuda.CudaCalls.check;
import static org.bytedeco.cuda.global.cudart.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
import static org.bytedeco.cuda.global.cudart.cuFuncSetAttribute;
import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;

import java.util.HashMap;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;

/** A loaded CUBIN and its kernels, launched by name on the default stream (inside {@link CudaDevice#run}). */
final class KernelModule implements AutoCloseable {

    private final CUmod_st module = new CUmod_st();
    private final Map<String, CUfunc_st> functions = new HashMap<>();

    KernelModule(byte[] cubin) {
        try (BytePointer image = new BytePointer(cubin)) {
            check(cuModuleLoadData(module, image), "cuModuleLoadData");
        }
    }

    /**
     * Launches {@code kernel} on a 1-D grid. Arguments are boxed {@link Long} (device addresses and 64-bit values),
     * {@link Integer} or {@link Float}, in the kernel's parameter order.
     */
    void launch(String kernel, int grid, int block, int sharedBytes, Object... args) {
        launchGrid(kernel, grid, 1, 1, block, sharedBytes, args);
    }

    /** {@link #launch(String, int, int, int, Object...)} on a grid of {@code gridX x gridY x gridZ} CTAs. */
    void launchGrid(String kernel, int gridX, int gridY, int gridZ, int block, int sharedBytes, Object... args) {
        CUfunc_st function = functions.computeIfAbsent(kernel, this::function);
        try (PointerScope scope = new PointerScope()) {
            PointerPointer<Pointer> params = new PointerPointer<>(args.length);
            for (int i = 0; i < args.length; i++) {
                params.put(i, switch (args[i]) {
                    case Long value -> new LongPointer(1).put(value);
                    case Integer value -> new IntPointer(1).put(value);
                    case Float value -> new FloatPointer(1).put(value);
                    default -> throw new IllegalArgumentException("unsupported kernel argument " + args[i]);
                });
            }
            check(cuLaunchKernel(function, gridX, gridY, gridZ, block, 1, 1, sharedBytes, (CUstream_st) null, params,
                    (PointerPointer<?>) null), "launching " + kernel);
        }
    }

    /** Lets {@code kernel} use up to {@code bytes} of dynamic shared memory (past the default 48 KB). */
    void allowSharedMemory(String kernel, int bytes) {
        check(cuFuncSetAttribute(functions.computeIfAbsent(kernel, this::function),
                CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes), "cuFuncSetAttribute(" + kernel + ")");
    }

    private CUfunc_st function(String kernel) {
        CUfunc_st function = new CUfunc_st();
        check(cuModuleGetFunction(function, module, kernel), "cuModuleGetFunction(" + kernel + ")");
        return function;
    }

    @Override
    public void close() {
        cuModuleUnload(module);
    }
}
