package dev.moba.kv;

import dev.moba.spi.SealedBlock;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The frozen mean keys of a sequence's sealed blocks, as the router keeps them for gating.
 *
 * <p>Layout: for each kv head {@code j}, an fp32 matrix {@code [headDim][capacity]} whose column {@code i} is the
 * mean key of block {@code i} (transposed, so that scoring a query against all blocks is one matrix product with
 * contiguous rows). {@code capacity} is a multiple of {@link HostLayout#COLUMN_MULTIPLE}; unused columns are zero.
 * Grows by doubling; owns its memory until {@link #close()}.
 */
public final class SummaryTable implements AutoCloseable {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final int kvHeads;
    private final int headDim;
    private Arena arena;
    private MemorySegment segment;
    private int capacity;
    private int blocks;

    public SummaryTable(int kvHeads, int headDim) {
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.capacity = HostLayout.COLUMN_MULTIPLE;
        this.arena = Arena.ofShared();
        this.segment = arena.allocate(bytesFor(capacity), 64);
    }

    /** Appends the mean of the next block; blocks must arrive in order. */
    public void add(SealedBlock block) {
        if (block.index() != blocks) {
            throw new IllegalStateException("block " + block.index() + " sealed out of order; expected " + blocks);
        }
        if (block.mean().length != kvHeads * headDim) {
            throw new IllegalArgumentException("mean of " + block.mean().length + " values, expected "
                    + kvHeads * headDim);
        }
        if (blocks == capacity) {
            grow();
        }
        for (int j = 0; j < kvHeads; j++) {
            for (int d = 0; d < headDim; d++) {
                segment.setAtIndex(F32, index(j, d, blocks), block.mean()[j * headDim + d]);
            }
        }
        blocks++;
    }

    /** Forgets the means of blocks {@code count} and after, leaving their columns zero. */
    public void truncate(int count) {
        if (count < 0 || count > blocks) {
            throw new IllegalArgumentException("cannot truncate " + blocks + " block means to " + count);
        }
        for (int j = 0; j < kvHeads; j++) {
            for (int d = 0; d < headDim; d++) {
                segment.asSlice(index(j, d, count) * Float.BYTES, (long) (blocks - count) * Float.BYTES).fill((byte) 0);
            }
        }
        blocks = count;
    }

    /** Sealed blocks held. */
    public int blocks() {
        return blocks;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public int headDim() {
        return headDim;
    }

    /** Row stride of each head's matrix, in elements. */
    public int capacity() {
        return capacity;
    }

    /** The whole table; valid until the next {@link #add} or {@link #close()}. */
    public MemorySegment segment() {
        return segment;
    }

    /** Byte offset of kv head {@code j}'s matrix within {@link #segment()}. */
    public long headOffset(int j) {
        return (long) j * headDim * capacity * Float.BYTES;
    }

    /** Mean key of {@code block}, kv head {@code j}, element {@code d}. */
    public float mean(int block, int j, int d) {
        Objects.checkIndex(block, blocks);
        return segment.getAtIndex(F32, index(j, d, block));
    }

    /** Bytes of memory held. */
    public long bytesReserved() {
        return segment.byteSize();
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
            arena = null;
            segment = null;
        }
    }

    private long index(int j, int d, int column) {
        return ((long) j * headDim + d) * capacity + column;
    }

    private long bytesFor(int columns) {
        return (long) kvHeads * headDim * columns * Float.BYTES;
    }

    private void grow() {
        int newCapacity = capacity * 2;
        Arena newArena = Arena.ofShared();
        MemorySegment newSegment = newArena.allocate(bytesFor(newCapacity), 64);
        long rowBytes = (long) capacity * Float.BYTES;
        for (long row = 0; row < (long) kvHeads * headDim; row++) {
            MemorySegment.copy(segment, row * rowBytes, newSegment, row * newCapacity * Float.BYTES, rowBytes);
        }
        arena.close();
        arena = newArena;
        segment = newSegment;
        capacity = newCapacity;
    }
}
