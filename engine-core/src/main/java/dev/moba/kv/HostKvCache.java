package dev.moba.kv;

import dev.moba.spi.KvCache;
import dev.moba.spi.KvSpec;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * KV blocks in off-heap host memory, laid out for CPU kernels.
 *
 * <p>Each block is one segment holding, in the storage dtype, for every kv head {@code j}:
 * the keys transposed, {@code [headDim][paddedBlock]} (so a score row is a sequence of vector loads), then the
 * values, {@code [paddedBlock][paddedDim]}. Both matrices are either row-major, or cut into panels of
 * {@link #panel()} columns, one after the other, each its rows of {@code panel} contiguous elements: the order the
 * Java kernel reads its right-hand matrix in, so it reads fp32 blocks where they lie instead of copying them.
 * Padding is zero. The open block keeps an fp32 running sum of its stored keys (accumulated in double), and its
 * mean is frozen when it fills.
 *
 * <p>Not thread-safe for appends; reads may run concurrently with each other. Memory is freed by {@link #close()}.
 */
public final class HostKvCache implements KvCache {

    /** Tokens appended per step: a transposed key row then receives one 64-byte line of fp32 at a time. */
    private static final int TOKENS_PER_STEP = 16;

    private final KvSpec spec;
    private final int panel;
    private final int paddedBlock;
    private final int paddedDim;
    /** Columns per panel of the keys and of the values: the whole row when row-major. */
    private final int keyPanel;
    private final int valuePanel;
    private final long keysBytesPerHead;
    private final long valuesBytesPerHead;
    private final List<MemorySegment> blocks = new ArrayList<>();
    /** One arena per block, so that undoing an append can free the blocks it opened. */
    private final List<Arena> blockArenas = new ArrayList<>();
    private final double[] openKeySum;
    /** Where each token of an append step starts in the keys of the head being written. */
    private final long[] keyStart = new long[TOKENS_PER_STEP];
    private int length;
    private boolean closed;

    /** Row-major blocks. */
    public HostKvCache(KvSpec spec) {
        this(spec, 0);
    }

    /**
     * @param panel 0 for row-major blocks, else the columns per panel: a positive multiple of
     *              {@link HostLayout#COLUMN_MULTIPLE}
     */
    public HostKvCache(KvSpec spec, int panel) {
        this.spec = Objects.requireNonNull(spec, "spec");
        if (panel < 0 || panel % HostLayout.COLUMN_MULTIPLE != 0) {
            throw new IllegalArgumentException("panel must be 0 or a positive multiple of "
                    + HostLayout.COLUMN_MULTIPLE + ", got " + panel);
        }
        this.panel = panel;
        if (panel == 0) {
            this.paddedBlock = HostLayout.padStride(spec.blockSize());
            this.paddedDim = HostLayout.padStride(spec.headDim());
            this.keyPanel = paddedBlock;
            this.valuePanel = paddedDim;
        } else {
            this.paddedBlock = roundUp(spec.blockSize(), panel);
            this.paddedDim = roundUp(spec.headDim(), panel);
            this.keyPanel = panel;
            this.valuePanel = panel;
        }
        int bytes = spec.dtype().bytes();
        this.keysBytesPerHead = (long) spec.headDim() * paddedBlock * bytes;
        this.valuesBytesPerHead = (long) paddedBlock * paddedDim * bytes;
        this.openKeySum = new double[spec.kvHeads() * spec.headDim()];
    }

    @Override
    public KvSpec spec() {
        return spec;
    }

    @Override
    public int length() {
        return length;
    }

    /** Columns per panel of the keys and values, or 0 where they are row-major. */
    public int panel() {
        return panel;
    }

    /** Columns of the transposed keys (their row stride when row-major) and the row count of the values. */
    public int paddedBlock() {
        return paddedBlock;
    }

    /** Columns of the values (their row stride when row-major). */
    public int paddedDim() {
        return paddedDim;
    }

    /** Element index, within a block, of dimension {@code d} of the key in {@code slot}, kv head {@code j}. */
    public long keyIndex(int j, int d, int slot) {
        return keysOffset(j) / spec.dtype().bytes() + (long) (slot / keyPanel) * spec.headDim() * keyPanel
                + (long) d * keyPanel + slot % keyPanel;
    }

    /** Element index, within a block, of dimension {@code d} of the value in {@code slot}, kv head {@code j}. */
    public long valueIndex(int j, int slot, int d) {
        return valuesOffset(j) / spec.dtype().bytes() + (long) (d / valuePanel) * paddedBlock * valuePanel
                + (long) slot * valuePanel + d % valuePanel;
    }

    /** The segment of block {@code b}; valid until {@link #close()}. */
    public MemorySegment block(int b) {
        ensureOpen();
        return blocks.get(b);
    }

    /** Byte offset, within a block, of kv head {@code j}'s transposed keys. */
    public long keysOffset(int j) {
        return j * keysBytesPerHead;
    }

    /** Byte offset, within a block, of kv head {@code j}'s values. */
    public long valuesOffset(int j) {
        return spec.kvHeads() * keysBytesPerHead + j * valuesBytesPerHead;
    }

    @Override
    public List<SealedBlock> append(Tensor k, Tensor v) {
        ensureOpen();
        requireShape("k", k);
        requireShape("v", v);
        if (k.tokens() != v.tokens()) {
            throw new IllegalArgumentException("k has " + k.tokens() + " tokens but v has " + v.tokens());
        }
        int n = k.tokens();
        int blockSize = spec.blockSize();
        int blocksNeeded = (length + n + blockSize - 1) / blockSize;
        while (blocks.size() < blocksNeeded) {
            // Allocate before writing anything: a failed allocation leaves the cache as it was.
            Arena blockArena = Arena.ofShared();
            try {
                blocks.add(blockArena.allocate(blockBytes(), 64));
            } catch (RuntimeException | Error e) {
                blockArena.close();
                throw e;
            }
            blockArenas.add(blockArena);
        }
        List<SealedBlock> sealed = new ArrayList<>();
        int rowLength = spec.kvHeads() * spec.headDim();
        float[] keyRows = new float[TOKENS_PER_STEP * rowLength];
        float[] valueRows = new float[TOKENS_PER_STEP * rowLength];
        for (int t = 0; t < n; ) {
            int position = length + t;
            int b = position / blockSize;
            int slot = position % blockSize;
            int count = Math.min(Math.min(TOKENS_PER_STEP, n - t), blockSize - slot);
            k.read((long) t * rowLength, keyRows, 0, count * rowLength);
            v.read((long) t * rowLength, valueRows, 0, count * rowLength);
            spec.dtype().roundInPlace(keyRows);
            writeTokens(blocks.get(b), slot, count, keyRows, valueRows);
            t += count;
            if (slot + count == blockSize) {
                sealed.add(new SealedBlock(b, freezeMean(blockSize)));
            }
        }
        length += n;
        return List.copyOf(sealed);
    }

    @Override
    public void truncate(int newLength) {
        ensureOpen();
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate " + length + " tokens to " + newLength);
        }
        // Blocks past the new length are freed; positions past it in the last block stay until overwritten, as
        // kernels never read past a query's own position. The open block's key sum is rebuilt in the order the
        // appends built it.
        int blocksKept = (newLength + spec.blockSize() - 1) / spec.blockSize();
        while (blocks.size() > blocksKept) {
            blocks.removeLast();
            blockArenas.removeLast().close();
        }
        Arrays.fill(openKeySum, 0);
        DType dtype = spec.dtype();
        int blockSize = spec.blockSize();
        int filled = newLength % blockSize;
        if (filled > 0) {
            MemorySegment block = blocks.get(newLength / blockSize);
            for (int slot = 0; slot < filled; slot++) {
                for (int j = 0; j < spec.kvHeads(); j++) {
                    for (int d = 0; d < spec.headDim(); d++) {
                        openKeySum[j * spec.headDim() + d] += dtype.get(block, keyIndex(j, d, slot));
                    }
                }
            }
        }
        length = newLength;
    }

    @Override
    public Tensor readKeys(Arena out, int from, int to) {
        return read(out, from, to, true);
    }

    @Override
    public Tensor readValues(Arena out, int from, int to) {
        return read(out, from, to, false);
    }

    @Override
    public long bytesToAppend(int tokens) {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
        }
        long blocksNeeded = ((long) length + tokens + spec.blockSize() - 1) / spec.blockSize();
        return Math.max(0, blocksNeeded - blocks.size()) * blockBytes();
    }

    @Override
    public long bytesReserved() {
        return blocks.size() * blockBytes();
    }

    private long blockBytes() {
        return spec.kvHeads() * (keysBytesPerHead + valuesBytesPerHead);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            blocks.clear();
            blockArenas.forEach(Arena::close);
            blockArenas.clear();
        }
    }

    /**
     * Stores the keys (already rounded) and values of {@code count} consecutive tokens, row-major in {@code keys}
     * and {@code values}, from {@code slot} of {@code block} on. Keys go one transposed row at a time, so each store
     * run is contiguous (within a panel); each key is added to the open block's sum in slot order, as one token at a
     * time would.
     */
    private void writeTokens(MemorySegment block, int slot, int count, float[] keys, float[] values) {
        DType dtype = spec.dtype();
        int dim = spec.headDim();
        int rowLength = spec.kvHeads() * dim;
        for (int j = 0; j < spec.kvHeads(); j++) {
            for (int s = 0; s < count; s++) {
                keyStart[s] = keyIndex(j, 0, slot + s);
            }
            for (int d = 0; d < dim; d++) {
                int from = j * dim + d;
                long step = (long) d * keyPanel;
                double sum = openKeySum[from];
                for (int s = 0; s < count; s++) {
                    float key = keys[s * rowLength + from];
                    dtype.set(block, keyStart[s] + step, key);
                    sum += key;
                }
                openKeySum[from] = sum;
            }
            for (int s = 0; s < count; s++) {
                int row = s * rowLength + j * dim;
                for (int d0 = 0; d0 < dim; d0 += valuePanel) {
                    long at = valueIndex(j, slot + s, d0);
                    int run = Math.min(valuePanel, dim - d0);
                    if (dtype == DType.FP32) {
                        MemorySegment.copy(values, row + d0, block, ValueLayout.JAVA_FLOAT, at * Float.BYTES, run);
                    } else {
                        for (int d = 0; d < run; d++) {
                            dtype.set(block, at + d, values[row + d0 + d]);
                        }
                    }
                }
            }
        }
    }

    private float[] freezeMean(int count) {
        float[] mean = new float[openKeySum.length];
        for (int i = 0; i < mean.length; i++) {
            mean[i] = (float) (openKeySum[i] / count);
            openKeySum[i] = 0;
        }
        return mean;
    }

    private Tensor read(Arena out, int from, int to, boolean keys) {
        ensureOpen();
        Objects.checkFromToIndex(from, to, length);
        DType dtype = spec.dtype();
        Tensor result = Tensor.allocate(out, DType.FP32, to - from, spec.kvHeads(), spec.headDim());
        for (int p = from; p < to; p++) {
            MemorySegment block = blocks.get(p / spec.blockSize());
            int slot = p % spec.blockSize();
            for (int j = 0; j < spec.kvHeads(); j++) {
                for (int d = 0; d < spec.headDim(); d++) {
                    long index = keys ? keyIndex(j, d, slot) : valueIndex(j, slot, d);
                    result.set(p - from, j, d, dtype.get(block, index));
                }
            }
        }
        return result;
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    private void requireShape(String name, Tensor t) {
        if (t.heads() != spec.kvHeads() || t.dim() != spec.headDim()) {
            throw new IllegalArgumentException(name + " has shape " + t.shapeText() + " but the cache holds "
                    + spec.kvHeads() + " kv heads of dim " + spec.headDim());
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("KV cache is closed");
        }
    }
}
