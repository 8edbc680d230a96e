package dev.moba.backend.cuda;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/** Device buffers of one GPU test, freed together: copies of host tensors, and poisoned outputs. */
final class DeviceBuffers implements AutoCloseable {

    /** A quiet NaN in every 16-bit and 32-bit lane: a value no kernel writes, so a missed element fails. */
    private static final int POISON = 0x7fc07fc0;

    private final CudaDevice device;
    private final List<Long> held = new ArrayList<>();

    DeviceBuffers(CudaDevice device) {
        this.device = device;
    }

    /** A device copy of {@code tensor}. */
    long of(Tensor tensor) {
        long address = device.run(() -> device.allocate(tensor.segment().byteSize()));
        held.add(address);
        device.execute(() -> device.upload(tensor.segment(), address));
        return address;
    }

    /** {@code bytes} (a multiple of 4) of poison. */
    long poisoned(long bytes, CudaBackend backend) {
        long address = device.run(() -> device.allocate(bytes));
        held.add(address);
        device.execute(() -> backend.kernels().fill(address, bytes / Integer.BYTES, POISON));
        return address;
    }

    /** The {@code [tokens][heads][dim]} tensor of {@code dtype} at {@code address}, widened. */
    float[] read(long address, Arena arena, DType dtype, int tokens, int heads, int dim) {
        MemorySegment host = arena.allocate((long) tokens * heads * dim * dtype.bytes());
        device.execute(() -> device.download(address, host));
        return Tensor.wrap(host, dtype, tokens, heads, dim).toFloatArray();
    }

    /** {@code count} floats at {@code address}. */
    float[] readFloats(long address, Arena arena, int count) {
        MemorySegment host = arena.allocate((long) count * Float.BYTES);
        device.execute(() -> device.download(address, host));
        return host.toArray(ValueLayout.JAVA_FLOAT);
    }

    /** Frees every buffer so far. */
    void release() {
        device.execute(() -> held.forEach(device::free));
        held.clear();
    }

    @Override
    public void close() {
        release();
    }
}
