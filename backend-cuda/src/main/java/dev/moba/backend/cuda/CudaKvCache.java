package dev.moba.backend.cuda;

import dev.moba.spi.KvCache;
import dev.moba.spi.KvSpec;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The keys and values of one sequence of one layer in device memory: one allocation per block (keys then values,
 * {@code [blockSize][kvHeads][headDim]} each, in the storage type) and a device table of the blocks' addresses that
 * kernels index by block number. Appending converts on the device and computes a sealed block's mean there.
 */
final class CudaKvCache implements KvCache {

    private final CudaBackend backend;
    private final KvSpec spec;
    private final int row;
    private final long blockBytes;
    private final List<Long> blocks = new ArrayList<>();
    private long table;
    private int tableCapacity;
    private int length;
    private boolean closed;

    CudaKvCache(CudaBackend backend, KvSpec spec) {
        this.backend = backend;
        this.spec = spec;
        this.row = spec.kvHeads() * spec.headDim();
        this.blockBytes = 2 * keyBytesPerBlock(spec);
    }

    @Override
    public KvSpec spec() {
        return spec;
    }

    @Override
    public int length() {
        return length;
    }

    /** Device address of the block table ({@code u64} per block), for kernels; valid until the next append. */
    long table() {
        return table;
    }

    @Override
    public List<SealedBlock> append(Tensor k, Tensor v) {
        requireOpen();
        requireShape("k", k);
        requireShape("v", v);
        if (k.tokens() != v.tokens() || k.dtype() != v.dtype()) {
            throw new IllegalArgumentException("k " + k.shapeText() + " and v " + v.shapeText() + " disagree");
        }
        int n = k.tokens();
        if (n == 0) {
            return List.of();
        }
        return backend.device().run(() -> {
            int held = blocks.size();
            try {
                growTo(blocksFor(length + n));
                long[] staged = backend.scratch().regions(k.segment().byteSize(), v.segment().byteSize(),
                        (long) row * Float.BYTES);
                backend.device().upload(k.segment(), staged[0]);
                backend.device().upload(v.segment(), staged[1]);
                backend.kernels().appendKv(staged[0], staged[1], k.dtype(), n, length, table, spec, row);
                List<SealedBlock> sealed = new ArrayList<>();
                for (int b = length / spec.blockSize(); b < (length + n) / spec.blockSize(); b++) {
                    sealed.add(new SealedBlock(b, mean(b, staged[2])));
                }
                length += n;
                return sealed;
            } catch (RuntimeException e) {
                shrinkTo(held);
                throw e;
            }
        });
    }

    /**
     * Appends {@code n} tokens whose keys and values are already in device memory ({@code [n][kvHeads][headDim]} in
     * {@code source} type) and writes the means of the blocks they seal to {@code means} in the gate's layout (per
     * kv head {@code [dim][capacity]}), on the default stream. Call inside the device lock.
     */
    void appendResident(long k, long v, DType source, int n, long means, int capacity) {
        requireOpen();
        growTo(blocksFor(length + n));
        backend.kernels().appendKvWithMeans(k, v, source, n, length, table, spec, row, means, capacity);
        length += n;
    }

    /**
     * Empties the cache but keeps the blocks of its first {@code tokens} positions for the next append: a sequence
     * refilled with as many tokens again takes no blocks from the pool and publishes no new table (host work that
     * would otherwise keep the device waiting before a prefill's first kernel). Call inside the device lock.
     */
    void clearKeeping(int tokens) {
        requireOpen();
        shrinkTo(Math.min(blocks.size(), blocksFor(tokens)));
        length = 0;
    }

    /** Bytes of one block's keys in a cache of {@code spec}: where the block's values start. */
    static long keyBytesPerBlock(KvSpec spec) {
        return (long) spec.blockSize() * spec.kvHeads() * spec.headDim() * spec.dtype().bytes();
    }

    /**
     * Makes room for {@code n} more tokens that a kernel will write in place (decode), allocating blocks and
     * republishing the table as needed; {@link #advance} then counts them. Call inside the device lock.
     */
    void reserve(int n) {
        requireOpen();
        growTo(blocksFor(length + n));
    }

    /** Counts {@code n} tokens written in place after {@link #reserve}. */
    void advance(int n) {
        length += n;
    }

    @Override
    public void truncate(int newLength) {
        requireOpen();
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate " + length + " tokens to " + newLength);
        }
        backend.device().execute(() -> shrinkTo(blocksFor(newLength)));
        length = newLength;
    }

    @Override
    public Tensor readKeys(Arena arena, int from, int to) {
        return read(arena, from, to, 0);
    }

    @Override
    public Tensor readValues(Arena arena, int from, int to) {
        return read(arena, from, to, keyBytesPerBlock(spec));
    }

    @Override
    public long bytesToAppend(int tokens) {
        return (blocksFor(length + tokens) - blocks.size()) * blockBytes;
    }

    @Override
    public long bytesReserved() {
        return blocks.size() * blockBytes;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        backend.device().execute(() -> {
            shrinkTo(0);
            if (table != 0) {
                backend.device().free(table);
                table = 0;
            }
        });
    }

    private float[] mean(int block, long out) {
        backend.kernels().blockMean(table, block, spec, row, out);
        float[] mean = new float[row];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate((long) row * Float.BYTES);
            backend.device().download(out, host);
            MemorySegment.copy(host, ValueLayout.JAVA_FLOAT, 0, mean, 0, row);
        }
        return mean;
    }

    private Tensor read(Arena arena, int from, int to, long regionOffset) {
        requireOpen();
        if (from < 0 || from > to || to > length) {
            throw new IndexOutOfBoundsException("positions [" + from + ", " + to + ") of " + length);
        }
        DType dtype = spec.dtype();
        long rowBytes = (long) row * dtype.bytes();
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment stored = staging.allocate(Math.max(1, (to - from) * rowBytes), 64);
            backend.device().execute(() -> {
                for (int p = from; p < to; ) {
                    int block = p / spec.blockSize();
                    int end = Math.min(to, (block + 1) * spec.blockSize());
                    long source = blocks.get(block) + regionOffset + (p % spec.blockSize()) * rowBytes;
                    backend.device().download(source, stored.asSlice((p - from) * rowBytes, (end - p) * rowBytes));
                    p = end;
                }
            });
            return Tensor.wrap(stored.asSlice(0, (to - from) * rowBytes), dtype, to - from, spec.kvHeads(),
                    spec.headDim()).roundedCopy(DType.FP32, arena);
        }
    }

    /** Allocates blocks up to {@code count} and republishes the table (inside the device lock). */
    private void growTo(int count) {
        if (count <= blocks.size()) {
            return;
        }
        while (blocks.size() < count) {
            blocks.add(backend.pool().take(blockBytes));
        }
        publishTable();
    }

    /** Frees blocks past {@code count} (inside the device lock). */
    private void shrinkTo(int count) {
        while (blocks.size() > count) {
            backend.pool().give(blocks.removeLast(), blockBytes);
        }
    }

    private void publishTable() {
        if (blocks.size() > tableCapacity) {
            if (table != 0) {
                backend.device().free(table);
            }
            tableCapacity = Math.max(16, Math.max(blocks.size(), tableCapacity * 2));
            table = backend.device().allocate((long) tableCapacity * Long.BYTES);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addresses = arena.allocate((long) blocks.size() * Long.BYTES);
            for (int i = 0; i < blocks.size(); i++) {
                addresses.setAtIndex(ValueLayout.JAVA_LONG, i, blocks.get(i));
            }
            backend.device().upload(addresses, table);
        }
    }

    private int blocksFor(int tokens) {
        return (tokens + spec.blockSize() - 1) / spec.blockSize();
    }

    private void requireShape(String name, Tensor t) {
        if (t.heads() != spec.kvHeads() || t.dim() != spec.headDim()) {
            throw new IllegalArgumentException(name + " is " + t.shapeText() + ", expected [n, " + spec.kvHeads()
                    + ", " + spec.headDim() + "]");
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("KV cache is closed");
        }
    }
}
