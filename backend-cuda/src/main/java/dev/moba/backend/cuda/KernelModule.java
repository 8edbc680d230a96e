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

/**
 * A loaded CUBIN and its kernels, launched by name on the default stream or a given one (inside
 * {@link CudaDevice#run}).
 */
final class KernelModule implements AutoCloseable {

    private static final int MAX_ARGUMENTS = 24;

    private final CUmod_st module = new CUmod_st();
    private final Map<String, CUfunc_st> functions = new HashMap<>();
    // One 8-byte slot per argument and the array of their addresses the driver reads: allocated once and reused by
    // every launch (the driver copies the values at launch, and launches run one at a time under the device lock),
    // so a launch allocates no native memory.
    private final LongPointer[] slots = new LongPointer[MAX_ARGUMENTS];
    private final PointerPointer<Pointer> params = new PointerPointer<>(MAX_ARGUMENTS);

    KernelModule(byte[] cubin) {
        try (BytePointer image = new BytePointer(cubin)) {
            check(cuModuleLoadData(module, image), "cuModuleLoadData");
        }
        for (int i = 0; i < MAX_ARGUMENTS; i++) {
            slots[i] = new LongPointer(1);
            params.put(i, slots[i]);
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
        if (args.length > MAX_ARGUMENTS) {
            throw new IllegalArgumentException(kernel + " takes " + args.length + " arguments, at most " + MAX_ARGUMENTS);
        }
        CUfunc_st function = functions.computeIfAbsent(kernel, this::function);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case Long value -> slots[i].put(0, value);
                case Integer value -> new IntPointer(slots[i]).put(0, value);
                case Float value -> new FloatPointer(slots[i]).put(0, value);
                default -> throw new IllegalArgumentException("unsupported kernel argument " + args[i]);
            }
        }
        check(cuLaunchKernel(function, gridX, gridY, gridZ, block, 1, 1, sharedBytes, (CUstream_st) null, params,
                (PointerPointer<?>) null), "launching " + kernel);
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
        params.close();
        for (LongPointer slot : slots) {
            slot.close();
        }
    }
}
