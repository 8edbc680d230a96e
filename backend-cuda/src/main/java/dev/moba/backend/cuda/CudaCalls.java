package dev.moba.backend.cuda;

import static org.bytedeco.cuda.global.cudart.CUDA_SUCCESS;
import static org.bytedeco.cuda.global.cudart.cuGetErrorString;

import org.bytedeco.javacpp.PointerPointer;

/** Checks driver API return codes. */
final class CudaCalls {

    private CudaCalls() {}

    /** Throws {@link CudaException} naming {@code call} unless {@code status} is success. */
    static void check(int status, String call) {
        if (status != CUDA_SUCCESS) {
            throw new CudaException(call + " failed: " + describe(status));
        }
    }

    static String describe(int status) {
        try (PointerPointer<?> text = new PointerPointer<>(1)) {
            return cuGetErrorString(status, text) == CUDA_SUCCESS && !text.get(0).isNull()
                    ? text.getString(0) + " (" + status + ")"
                    : "CUDA error " + status;
        }
    }
}
