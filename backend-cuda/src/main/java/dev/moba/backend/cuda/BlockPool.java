package dev.moba.backend.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Device allocations of KV blocks, kept for reuse: a sequence that is closed or truncated gives its blocks back,
 * and the next one takes them without a driver allocation (which costs tens of microseconds and synchronises).
 * Blocks of one size class are interchangeable. Used under the device lock.
 */
final class BlockPool implements AutoCloseable {

    private final CudaDevice device;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();

    BlockPool(CudaDevice device) {
        this.device = device;
    }

    /** A block of {@code bytes}, reused when one is free. */
    long take(long bytes) {
        ArrayDeque<Long> blocks = free.get(bytes);
        Long reused = blocks == null ? null : blocks.poll();
        return reused != null ? reused : device.allocate(bytes);
    }

    /** Returns a block taken with the same {@code bytes}. */
    void give(long address, long bytes) {
        free.computeIfAbsent(bytes, b -> new ArrayDeque<>()).push(address);
    }

    /** Frees every block held for reuse. */
    @Override
    public void close() {
        free.values().forEach(blocks -> blocks.forEach(device::free));
        free.clear();
    }
}
