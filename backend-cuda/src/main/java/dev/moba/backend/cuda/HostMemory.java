package dev.moba.backend.cuda;

import java.lang.foreign.MemorySegment;
import org.bytedeco.javacpp.Pointer;

/** A native {@link MemorySegment} seen as a JavaCPP pointer, so copies to and from the device read it in place. */
final class HostMemory extends Pointer {

    HostMemory(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("device copies need native memory, got a heap segment");
        }
        this.address = segment.address();
        this.capacity = segment.byteSize();
        this.limit = segment.byteSize();
    }
}
