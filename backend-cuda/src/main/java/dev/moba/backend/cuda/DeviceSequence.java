package dev.moba.backend.cuda;

import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.gating.GateRequest;
import dev.moba.spi.Backend;
import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;

/**
 * One sequence whose KV cache and block means live on the device, for a model that runs on the GPU: queries, keys,
 * values and outputs stay in device memory. {@link #prefill} is MoBA prefill of the whole sequence; afterwards
 * {@link DeviceDecode} appends tokens one at a time. Prefill stores the keys and values into the sequence's KV
 * blocks and freezes every sealed block's mean in the same pass, gates each (token, head) on the GPU, builds the
 * attention lists there and runs them on the tensor cores: first the history blocks into partials, then each
 * query's own block, causally, folding the partials into the output as it stores it. Nothing crosses to the host
 * and the only synchronisation is the caller's.
 *
 * <p>Tensors are CUDA device addresses (in the primary context of the backend's GPU) of {@code [tokens][heads][headDim]}
 * arrays in the configured storage type (bf16 or fp16), head dimension 64 or 128. Work is queued on the default
 * stream and the calls return at once: synchronise (or use the default stream) before reading the output. The block
 * means are kept for up to {@code maxTokens} tokens, in fp32 (decode gates on them) and split into the three bf16
 * terms the prefill's tensor-core gate reads.
 */
public final class DeviceSequence implements AutoCloseable {

    private final CudaBackend backend;
    private final MobaConfig config;
    private final HeadLayout layout;
    private final CudaKvCache cache;
    private final int capacity;
    private final long means;
    private final long meanTerms;  // the means split for the tensor-core gate: [3][kvHeads][headDim][capacity] bf16
    private final int maxTokens;

    /**
     * Opens an empty sequence of up to {@code maxTokens} tokens on {@code backend}, which must be the CUDA backend
     * ({@code Backends.open("cuda", ...)}); it allocates the block means now and KV blocks as tokens arrive.
     */
    public DeviceSequence(Backend backend, MobaConfig config, HeadLayout layout, int maxTokens) {
        this(CudaBackend.of(backend), config, layout, maxTokens);
    }

    DeviceSequence(CudaBackend backend, MobaConfig config, HeadLayout layout, int maxTokens) {
        if (!CudaKernels.tilesSupport(config.dtype(), layout.headDim())) {
            throw new IllegalArgumentException("a device sequence runs bf16 or fp16 with head dim 64 or 128, got "
                    + config.dtype() + " and " + layout.headDim());
        }
        if (config.historyPicks() > CudaKernels.MAX_GATE_PICKS) {
            throw new IllegalArgumentException("a device sequence selects at most " + CudaKernels.MAX_GATE_PICKS
                    + " history blocks, top-k " + config.topK() + " needs " + config.historyPicks());
        }
        this.backend = backend;
        this.config = config;
        this.layout = layout;
        this.cache = new CudaKvCache(backend,
                new KvSpec(layout.kvHeads(), layout.headDim(), config.blockSize(), config.dtype()));
        this.maxTokens = maxTokens;
        // The gates read means in whole chunks of columns (the tensor-core gate's 16-byte pieces, the tiled gate's 64).
        this.capacity = (maxTokens / config.blockSize() + 64) / 64 * 64;
        long meanValues = (long) layout.kvHeads() * layout.headDim() * capacity;
        this.means = backend.device().run(() -> backend.device().allocate(meanValues * Float.BYTES));
        this.meanTerms = backend.device().run(() -> backend.device().allocate(3 * meanValues * Short.BYTES));
    }

    CudaKvCache cache() {
        return cache;
    }

    MobaConfig config() {
        return config;
    }

    HeadLayout layout() {
        return layout;
    }

    /** Device address of the block means: per kv head an fp32 matrix {@code [headDim][capacity()]}. */
    long means() {
        return means;
    }

    int capacity() {
        return capacity;
    }

    int maxTokens() {
        return maxTokens;
    }

    /**
     * Runs the prefill of {@code tokens} tokens from device addresses {@code q}, {@code k}, {@code v} into
     * {@code out} (same layout as {@code q}), asynchronously on the default stream, after emptying the cache.
     */
    public void prefill(long q, long k, long v, long out, int tokens) {
        if (tokens < 1 || tokens > maxTokens) {
            throw new IllegalArgumentException("prefill of " + tokens + " tokens; this sequence holds 1.." + maxTokens);
        }
        CudaDevice device = backend.device();
        CudaKernels kernels = backend.kernels();
        device.execute(() -> {
            cache.clearKeeping(tokens);
            DType dtype = config.dtype();
            int blockSize = config.blockSize();
            int qHeads = layout.qHeads();
            int kvHeads = layout.kvHeads();
            int group = layout.groupSize();
            int dim = layout.headDim();
            // One pass over the keys stores them and the values into their blocks and freezes the sealed blocks'
            // means: measured on the H100, cheaper than a copy on a second stream beside the gate and attention
            // (those leave too little of a multiprocessor free for it to overlap) plus a means pass.
            cache.appendResident(k, v, dtype, tokens, means, capacity);
            int sealed = tokens / blockSize;
            int blocks = (tokens + blockSize - 1) / blockSize;
            int picks = GateRequest.picksFor(config, 0, tokens);
            int slots = picks + 1;
            long rows = (long) tokens * qHeads;
            int listCount = kvHeads * (sealed + blocks);
            long entries = rows * slots;
            long tiles = entries / CudaKernels.TILE_ROWS + listCount;
            long[] at = backend.scratch().regions(Math.max(1, rows * picks) * Integer.BYTES, (long) Math.max(1, kvHeads * sealed) * Integer.BYTES,
                    (long) Math.max(1, kvHeads * sealed) * Integer.BYTES,
                    (long) listCount * CudaKernels.LIST_INTS * Integer.BYTES, (listCount + 1L) * Integer.BYTES,
                    entries * 2 * Integer.BYTES, entries * dim * Float.BYTES, entries * Float.BYTES);
            long selection = at[0];
            long counts = at[1];
            long cursors = at[2];
            long lists = at[3];
            long tileStarts = at[4];
            long pairs = at[5];
            long partOut = at[6];
            long partLse = at[7];
            long table = cache.table();
            if (sealed > 0) {
                kernels.splitMeans(means, (long) kvHeads * dim * capacity, meanTerms);
                kernels.fill(counts, (long) kvHeads * sealed, 0);
                kernels.fill(cursors, (long) kvHeads * sealed, 0);
            }
            if (picks > 0) {
                kernels.gateTerms(q, dtype, tokens, qHeads, group, dim, 0, blockSize, meanTerms, kvHeads, capacity, picks,
                        selection);
                kernels.planCount(selection, rows, picks, qHeads, group, sealed, counts);
            }
            kernels.planLists(counts, kvHeads, sealed, blocks, tokens, blockSize, group, lists, tileStarts);
            if (picks > 0) {
                kernels.planFillHistory(selection, rows, picks, qHeads, group, sealed, lists, cursors, pairs);
            }
            kernels.planFillCausal(tokens, qHeads, group, blockSize, blocks, kvHeads * sealed, picks, lists, pairs);
            kernels.fillNegativeInfinity(partLse, entries);
            int historyLists = kvHeads * sealed;
            long listBytes = (long) CudaKernels.LIST_INTS * Integer.BYTES;
            float scale = config.scaleFor(dim);
            if (picks > 0) {
                kernels.attendTiles(q, qHeads, 0, table, cache.spec(), scale, lists, tileStarts,
                        historyLists, pairs, slots, partOut, partLse, rows * picks / CudaKernels.TILE_ROWS + historyLists, 0L);
            }
            kernels.attendTiles(q, qHeads, 0, table, cache.spec(), scale, lists + historyLists * listBytes,
                    tileStarts + (long) historyLists * Integer.BYTES, kvHeads * blocks, pairs, slots, partOut, partLse,
                    causalTiles(tokens, blockSize, group, kvHeads), out);
        });
    }

    /** Tiles of the causal lists: every query of each block, per kv head. */
    private static long causalTiles(int tokens, int blockSize, int group, int kvHeads) {
        long tiles = 0;
        for (int start = 0; start < tokens; start += blockSize) {
            long rows = (long) Math.min(blockSize, tokens - start) * group;
            tiles += (rows + CudaKernels.TILE_ROWS - 1) / CudaKernels.TILE_ROWS;
        }
        return tiles * kvHeads;
    }

    /** Tokens the sequence holds. */
    public int length() {
        return cache.length();
    }

    @Override
    public void close() {
        cache.close();
        backend.device().execute(() -> {
            backend.device().free(means);
            backend.device().free(meanTerms);
        });
    }
}
