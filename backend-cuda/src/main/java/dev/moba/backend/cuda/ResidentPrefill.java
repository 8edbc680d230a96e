package dev.moba.backend.cuda;

import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.gating.GateRequest;
import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;

/**
 * MoBA prefill of one whole sequence whose queries, keys and values are already in device memory, with the
 * output left there: the path of a model that runs on the GPU. One call appends the keys and values into the
 * sequence's KV blocks, computes every block mean, gates each (token, head) on the GPU, builds the attention lists
 * there and runs them on the tensor cores: first the history blocks into partials, then each query's own block,
 * causally, folding the partials into the output as it stores it. Nothing crosses to the host and the only
 * synchronisation is the caller's.
 *
 * <p>Tensors are {@code [tokens][heads][headDim]} in the configured storage type (bf16 or fp16), head dimension 64
 * or 128. The KV cache stays filled after the call ({@link #cache()}), ready for decode.
 */
final class ResidentPrefill implements AutoCloseable {

    private final CudaBackend backend;
    private final MobaConfig config;
    private final HeadLayout layout;
    private final CudaKvCache cache;

    ResidentPrefill(CudaBackend backend, MobaConfig config, HeadLayout layout) {
        if (!CudaKernels.tilesSupport(config.dtype(), layout.headDim())) {
            throw new IllegalArgumentException("resident prefill runs bf16 or fp16 with head dim 64 or 128, got "
                    + config.dtype() + " and " + layout.headDim());
        }
        if (config.historyPicks() > CudaKernels.MAX_GATE_PICKS) {
            throw new IllegalArgumentException("resident prefill selects at most " + CudaKernels.MAX_GATE_PICKS
                    + " history blocks, top-k " + config.topK() + " needs " + config.historyPicks());
        }
        this.backend = backend;
        this.config = config;
        this.layout = layout;
        this.cache = new CudaKvCache(backend,
                new KvSpec(layout.kvHeads(), layout.headDim(), config.blockSize(), config.dtype()));
    }

    CudaKvCache cache() {
        return cache;
    }

    /**
     * Runs the prefill of {@code tokens} tokens from device addresses {@code q}, {@code k}, {@code v} into
     * {@code out} (same layout as {@code q}), asynchronously on the default stream, after emptying the cache.
     */
    void run(long q, long k, long v, long out, int tokens) {
        CudaDevice device = backend.device();
        CudaKernels kernels = backend.kernels();
        device.execute(() -> {
            cache.truncate(0);
            DType dtype = config.dtype();
            int blockSize = config.blockSize();
            int qHeads = layout.qHeads();
            int kvHeads = layout.kvHeads();
            int group = layout.groupSize();
            int dim = layout.headDim();
            cache.appendResident(k, v, dtype, tokens);
            int sealed = tokens / blockSize;
            int blocks = (tokens + blockSize - 1) / blockSize;
            int picks = GateRequest.picksFor(config, 0, tokens);
            int slots = picks + 1;
            long rows = (long) tokens * qHeads;
            int capacity = Math.max(64, (sealed + 63) / 64 * 64);  // the tiled gate reads means 64 columns at a time
            int listCount = kvHeads * (sealed + blocks);
            long entries = rows * slots;
            long tiles = entries / CudaKernels.TILE_ROWS + listCount;
            long[] at = backend.scratch().regions((long) kvHeads * dim * capacity * Float.BYTES,
                    Math.max(1, rows * picks) * Integer.BYTES, (long) Math.max(1, kvHeads * sealed) * Integer.BYTES,
                    (long) Math.max(1, kvHeads * sealed) * Integer.BYTES,
                    (long) listCount * CudaKernels.LIST_INTS * Integer.BYTES, (listCount + 1L) * Integer.BYTES,
                    entries * 2 * Integer.BYTES, entries * dim * Float.BYTES, entries * Float.BYTES);
            long means = at[0];
            long selection = at[1];
            long counts = at[2];
            long cursors = at[3];
            long lists = at[4];
            long tileStarts = at[5];
            long pairs = at[6];
            long partOut = at[7];
            long partLse = at[8];
            if (sealed > 0) {
                kernels.meansAll(cache.table(), sealed, cache.spec(), means, capacity);
                kernels.fill(counts, (long) kvHeads * sealed, 0);
                kernels.fill(cursors, (long) kvHeads * sealed, 0);
            }
            if (picks > 0) {
                kernels.gate(q, dtype, tokens, qHeads, group, dim, 0, blockSize, means, kvHeads, capacity, picks,
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
                kernels.attendTiles(q, qHeads, 0, cache.table(), cache.spec(), scale, lists, tileStarts, historyLists,
                        pairs, slots, partOut, partLse, rows * picks / CudaKernels.TILE_ROWS + historyLists, 0L);
            }
            kernels.attendTiles(q, qHeads, 0, cache.table(), cache.spec(), scale, lists + historyLists * listBytes,
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

    @Override
    public void close() {
        cache.close();
    }
}
