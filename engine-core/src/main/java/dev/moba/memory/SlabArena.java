package dev.moba.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Scratch memory reused from one chunk to the next: allocations bump a pointer through a shared slab (and are
 * zeroed, as any arena's are), and {@link #reset()} hands the whole slab out again. Closing a shared arena makes
 * every thread of the JVM stop at a handshake, tens of microseconds with a few dozen threads, which is the whole
 * budget of a decode step; a slab is freed only when it must grow and when it is closed.
 *
 * <p>Memory handed out may be read and written by any thread, but allocation, {@link #reset()} and
 * {@link #close()} belong to one owner at a time, and nothing allocated before a reset may be used after it.
 */
public final class SlabArena implements Arena {

    private static final long ALIGNMENT = 64;

    private Arena slabArena;
    private MemorySegment slab;
    private long used;
    private long demand;
    private final List<Arena> overflow = new ArrayList<>();

    /** A slab of {@code initialBytes}, growing to what one round between resets needs. */
    public SlabArena(long initialBytes) {
        allocateSlab(Math.max(ALIGNMENT, initialBytes));
    }

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        return allocate(byteSize, byteAlignment, true);
    }

    /**
     * {@link #allocate} without zeroing what the slab held before, for memory the caller writes in full before it
     * reads any of it: a prefill's partials are a hundred megabytes or more, zeroed for nothing.
     */
    public MemorySegment allocateUnzeroed(long byteSize, long byteAlignment) {
        return allocate(byteSize, byteAlignment, false);
    }

    private MemorySegment allocate(long byteSize, long byteAlignment, boolean zero) {
        if (byteSize < 0 || byteAlignment <= 0 || (byteAlignment & (byteAlignment - 1)) != 0) {
            throw new IllegalArgumentException("bad allocation of " + byteSize + " bytes aligned to " + byteAlignment);
        }
        demand += byteSize + byteAlignment;
        long start = (used + byteAlignment - 1) & -byteAlignment;
        if (byteAlignment <= ALIGNMENT && start + byteSize <= slab.byteSize()) {
            used = start + byteSize;
            MemorySegment slice = slab.asSlice(start, byteSize);
            return zero ? slice.fill((byte) 0) : slice;
        }
        // This round outgrew the slab: serve it from an arena of its own, and grow the slab at the next reset.
        Arena extra = Arena.ofShared();
        overflow.add(extra);
        return extra.allocate(byteSize, byteAlignment);
    }

    /** Makes the whole slab available again; everything allocated so far must no longer be used. */
    public void reset() {
        if (!overflow.isEmpty()) {
            overflow.forEach(Arena::close);
            overflow.clear();
            slabArena.close();
            allocateSlab(Math.max(demand, 2 * slab.byteSize()));
        }
        used = 0;
        demand = 0;
    }


    @Override
    public MemorySegment.Scope scope() {
        return slabArena.scope();
    }

    @Override
    public void close() {
        overflow.forEach(Arena::close);
        overflow.clear();
        slabArena.close();
    }

    private void allocateSlab(long bytes) {
        slabArena = Arena.ofShared();
        slab = slabArena.allocate(bytes, ALIGNMENT);
    }
}
