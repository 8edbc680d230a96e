package dev.moba.backend.cuda;

/**
 * Reusable device memory for the temporaries of one call (staged inputs, partials), owned by the backend and used
 * under the device lock. It grows to the largest call seen and is never shrunk, so steady-state calls allocate
 * nothing.
 */
final class DeviceScratch implements AutoCloseable {

    private static final long ALIGNMENT = 256;

    private final CudaDevice device;
    private long address;
    private long capacity;

    DeviceScratch(CudaDevice device) {
        this.device = device;
    }

    /**
     * Carves regions of the given byte sizes out of the scratch (growing it first if needed) and returns their
     * addresses; they stay valid until the next call to {@code regions}.
     */
    long[] regions(long... sizes) {
        long total = 0;
        for (long size : sizes) {
            total += align(size);
        }
        if (total > capacity) {
            if (address != 0) {
                device.free(address);
                address = 0;
                capacity = 0;
            }
            long grown = Math.max(total, capacity * 2);
            address = device.allocate(grown);
            capacity = grown;
        }
        long[] addresses = new long[sizes.length];
        long at = address;
        for (int i = 0; i < sizes.length; i++) {
            addresses[i] = at;
            at += align(sizes[i]);
        }
        return addresses;
    }

    @Override
    public void close() {
        if (address != 0) {
            device.free(address);
            address = 0;
        }
    }

    private static long align(long bytes) {
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }
}
