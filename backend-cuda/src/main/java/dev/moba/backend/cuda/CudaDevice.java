package dev.moba.backend.cuda;

import static dev.moba.backend.cuda.CudaCalls.check;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;
import static org.bytedeco.cuda.global.cudart.cuCtxSetCurrent;
import static org.bytedeco.cuda.global.cudart.cuCtxSynchronize;
import static org.bytedeco.cuda.global.cudart.cuDeviceGet;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetAttribute;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetCount;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetName;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRelease;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRetain;
import static org.bytedeco.cuda.global.cudart.cuInit;
import static org.bytedeco.cuda.global.cudart.cuMemAlloc;
import static org.bytedeco.cuda.global.cudart.cuMemFree;
import static org.bytedeco.cuda.global.cudart.cuMemcpyDtoD;
import static org.bytedeco.cuda.global.cudart.cuMemcpyDtoH;
import static org.bytedeco.cuda.global.cudart.cuMemcpyHtoD;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.ReentrantLock;
import org.bytedeco.cuda.cudart.CUctx_st;

/**
 * One GPU and its primary context, used by one thread at a time.
 *
 * <p>Every piece of device work runs inside {@link #run}, which holds the device's lock and makes its context current
 * on the calling thread: the engine calls from many threads, and the driver binds a context per thread. Copies are
 * synchronous, so results are ready when {@code run} returns.
 */
final class CudaDevice implements AutoCloseable {

    private final int ordinal;
    private final CUctx_st context = new CUctx_st();
    private final ReentrantLock lock = new ReentrantLock();
    private final String name;
    private final int major;
    private final int minor;
    private final int multiprocessors;

    private CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        int[] device = new int[1];
        check(cuDeviceGet(device, ordinal), "cuDeviceGet");
        check(cuDevicePrimaryCtxRetain(context, device[0]), "cuDevicePrimaryCtxRetain");
        byte[] text = new byte[256];
        check(cuDeviceGetName(text, text.length, device[0]), "cuDeviceGetName");
        this.name = new String(text, 0, indexOfZero(text)).trim();
        this.major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device[0]);
        this.minor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device[0]);
        this.multiprocessors = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device[0]);
    }

    /** Initialises the driver and opens device {@code ordinal}; fails with the driver's reason. */
    static CudaDevice open(int ordinal) {
        check(cuInit(0), "cuInit");
        int[] count = new int[1];
        check(cuDeviceGetCount(count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count[0]) {
            throw new CudaException("no CUDA device " + ordinal + " (" + count[0] + " present)");
        }
        return new CudaDevice(ordinal);
    }

    String name() {
        return name;
    }

    /**
     * The architecture the kernels are compiled for, as NVRTC names it: {@code sm_90a} on Hopper (its
     * architecture-specific instructions, the warpgroup products, are wanted), else {@code sm_<major><minor>}.
     */
    String architecture() {
        return "sm_" + major + minor + (hasWarpgroupProducts() ? "a" : "");
    }

    /** Whether the GPU runs Hopper's warpgroup matrix products ({@code wgmma}, compute capability 9.0). */
    boolean hasWarpgroupProducts() {
        return major == 9 && minor == 0;
    }

    int multiprocessors() {
        return multiprocessors;
    }

    /** Runs {@code work} with this device's context current and its lock held. */
    <T> T run(java.util.function.Supplier<T> work) {
        lock.lock();
        try {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            return work.get();
        } finally {
            lock.unlock();
        }
    }

    /** {@link #run} for work with no result. */
    void execute(Runnable work) {
        run(() -> {
            work.run();
            return null;
        });
    }

    /** Allocates {@code bytes} of device memory (inside {@link #run}). */
    long allocate(long bytes) {
        long[] address = new long[1];
        check(cuMemAlloc(address, Math.max(bytes, 1)), "cuMemAlloc(" + bytes + " bytes)");
        return address[0];
    }

    void free(long address) {
        check(cuMemFree(address), "cuMemFree");
    }

    void upload(MemorySegment from, long to) {
        if (from.byteSize() > 0) {
            check(cuMemcpyHtoD(to, new HostMemory(from), from.byteSize()), "cuMemcpyHtoD");
        }
    }

    void download(long from, MemorySegment to) {
        if (to.byteSize() > 0) {
            check(cuMemcpyDtoH(new HostMemory(to), from, to.byteSize()), "cuMemcpyDtoH");
        }
    }

    /** Reads {@code count} ints at device address {@code from} (inside {@link #run}). */
    int[] downloadInts(long from, int count) {
        int[] values = new int[count];
        try (Arena host = Arena.ofConfined()) {
            MemorySegment segment = host.allocate((long) count * Integer.BYTES);
            download(from, segment);
            MemorySegment.copy(segment, ValueLayout.JAVA_INT, 0, values, 0, count);
        }
        return values;
    }

    void copy(long from, long to, long bytes) {
        check(cuMemcpyDtoD(to, from, bytes), "cuMemcpyDtoD");
    }

    void synchronize() {
        check(cuCtxSynchronize(), "cuCtxSynchronize");
    }

    @Override
    public void close() {
        cuDevicePrimaryCtxRelease(ordinal);
    }

    @Override
    public String toString() {
        return name + " (" + architecture() + ", " + multiprocessors + " SMs)";
    }

    private static int attribute(int attribute, int device) {
        int[] value = new int[1];
        check(cuDeviceGetAttribute(value, attribute, device), "cuDeviceGetAttribute");
        return value[0];
    }

    private static int indexOfZero(byte[] text) {
        for (int i = 0; i < text.length; i++) {
            if (text[i] == 0) return i;
        }
        return text.length;
    }
}
