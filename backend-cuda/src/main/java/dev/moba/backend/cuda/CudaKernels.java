package dev.moba.backend.cuda;

import static dev.moba.backend.cuda.CudaCalls.check;
import static org.bytedeco.cuda.global.cudart.cuMemsetD32;

import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MoBA kernels of one device, with their launch geometry: each method launches one kernel on the default
 * stream and returns without waiting (call inside {@link CudaDevice#run}).
 */
final class CudaKernels implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CudaKernels.class);

    /** The most history blocks {@link #gate} selects per query row (the kernel keeps them in registers). */
    static final int MAX_GATE_PICKS = 16;
    /** The largest head dimension {@link #attend} takes. */
    static final int MAX_ATTEND_DIM = 256;
    /** Query rows per tile of {@link #attendTiles}. */
    static final int TILE_ROWS = 128;
    /** Ints per list record of {@link #attendTiles} ({@code struct TileList}). */
    static final int LIST_INTS = 8;
    /** The most block means per sequence {@link #gateDecode} scores (they and the query sit in shared memory). */
    static final int MAX_DECODE_CANDIDATES = 48 * 1024;
    /** Keys per CTA of {@link #decodeAttend}. */
    static final int DECODE_SPLIT = 512;

    private static final List<String> SOURCES =
            List.of("moba_kv.cu", "moba_gate.cu", "moba_attend.cu", "moba_tiles.cu", "moba_plan.cu",
                    "moba_decode.cu", "moba_random.cu");
    private static final int GATE_WARPS = 4;
    private static final int ATTEND_WARPS = 4;
    private static final int PLAN_THREADS = 1024;
    private static final int PLAN_SPAN = 16384;
    private static final int PLAN_SHARED_LISTS = 12288;
    private static final int[] GATE_TILE_PICKS = {2, 4, 8, 16};
    private static final int GATE_TILE_DIM = 128;
    private static final int GATE_TILE = 64;
    private static final int GATE_MMA_TOKENS = 128;
    private static final int GATE_MMA_CANDIDATES = 32;

    private final Map<String, KernelModule> modules = new LinkedHashMap<>();
    private final int gridLimit;
    private final TileKernel tileKernel;
    private final boolean warpgroupGate;

    CudaKernels(CudaDevice device, KernelCompiler compiler) {
        try {
            for (String source : SOURCES) {
                modules.put(source, new KernelModule(compiler.cubin(source, device.architecture())));
            }
            for (int picks : GATE_TILE_PICKS) {
                modules.get("moba_gate.cu").allowSharedMemory("gate_tiles_" + picks, gateTileSharedBytes(GATE_TILE_DIM));
                modules.get("moba_gate.cu").allowSharedMemory("gate_mma_" + picks,
                        gateMmaSharedBytes(DType.FP16, GATE_TILE_DIM));
            }
            if (device.hasWarpgroupProducts()) {
                for (int picks : GATE_TILE_PICKS) {
                    for (int dim : new int[] {64, 128}) {
                        modules.get("moba_gate.cu").allowSharedMemory(gateWarpgroupKernel(dim, picks),
                                gateWarpgroupSharedBytes(dim));
                    }
                }
            }
            modules.get("moba_gate.cu").allowSharedMemory("gate_decode",
                    (MAX_DECODE_CANDIDATES + MAX_ATTEND_DIM) * Float.BYTES);
            for (int dim : new int[] {64, 128}) {
                for (DType dtype : new DType[] {DType.BF16, DType.FP16}) {
                    for (TileKernel kernel : TileKernel.values()) {
                        if (kernel == TileKernel.MMA_SYNC || device.hasWarpgroupProducts()) {
                            modules.get("moba_tiles.cu").allowSharedMemory(kernel.name(dtype, dim),
                                    kernel.sharedBytes(dim));
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.gridLimit = device.multiprocessors() * 16;
        this.tileKernel = TileKernel.forDevice(device);
        this.warpgroupGate = device.hasWarpgroupProducts();
        LOG.info("attention tiles and gate on {} ({})",
                tileKernel == TileKernel.WARPGROUP ? "warpgroup products" : "mma.sync", device.architecture());
    }

    /** Whether {@link #attendTiles} runs this storage type and head dimension. */
    static boolean tilesSupport(DType dtype, int dim) {
        return dtype != DType.FP32 && (dim == 64 || dim == 128);
    }

    /** Stores tokens {@code [first, first + n)} of k and v (in {@code source} type) into their blocks. */
    void appendKv(long k, long v, DType source, int n, int first, long table, KvSpec spec, int row) {
        KernelModule module = modules.get("moba_kv.cu");
        if (source == spec.dtype() && (long) row * source.bytes() % 16 == 0) {
            module.launch("kv_append_copy", grid((long) n * row * source.bytes() / 16, 256), 256, 0,
                    k, v, n, first, table, spec.blockSize(), row, spec.dtype().ordinal());
            return;
        }
        module.launch("kv_append", grid((long) n * row, 256), 256, 0, k, v, source.ordinal(), n,
                first, table, spec.blockSize(), row, spec.dtype().ordinal());
    }

    /**
     * {@link #appendKv(long, long, DType, int, int, long, KvSpec, int)} that also writes the means of the blocks
     * the append seals to {@code means} (the gate's layout, as {@link #means}), reading the keys once. Tokens of a
     * sealed block appended earlier are read back from the blocks.
     */
    void appendKvWithMeans(long k, long v, DType source, int n, int first, long table, KvSpec spec, int row,
                           long means, int capacity) {
        if (source != spec.dtype() || (long) row * source.bytes() % 8 != 0) {
            appendKv(k, v, source, n, first, table, spec, row);
            means(table, first / spec.blockSize(), (first + n) / spec.blockSize(), spec, means, capacity);
            return;
        }
        int bs = spec.blockSize();
        long threads = (long) ((first + n - 1) / bs - first / bs + 1) * row * source.bytes() / 8;
        modules.get("moba_kv.cu").launch("kv_append_means", blocks(threads, 128), 128, 0, k, v, n, first, table, bs,
                row, spec.dtype().ordinal(), means, capacity);
    }

    /** Writes the fp32 mean key of {@code block} ({@code row} values) to {@code out}. */
    void blockMean(long table, int block, KvSpec spec, int row, long out) {
        modules.get("moba_kv.cu").launch("kv_block_mean", (row + 127) / 128, 128, 0, table, block, spec.blockSize(),
                row, spec.dtype().ordinal(), out);
    }

    /**
     * Writes the means of blocks {@code [from, sealed)} in the gate's layout (per kv head {@code [dim][capacity]}).
     */
    void means(long table, int from, int sealed, KvSpec spec, long means, int capacity) {
        long threads = (long) (sealed - from) * spec.kvHeads() * spec.headDim();
        if (threads == 0) {
            return;
        }
        modules.get("moba_plan.cu").launch("kv_means_all", blocks(threads, 256), 256, 0, table, from, sealed,
                spec.blockSize(), spec.kvHeads(), spec.headDim(), spec.dtype().ordinal(), means, capacity);
    }

    /**
     * Appends one token per sequence: row {@code b} of {@code k} and {@code v} ({@code rowBytes} each, a multiple
     * of 16) goes to position {@code positions[b]} of the blocks of {@code tables[b]}.
     */
    void decodeAppend(long k, long v, long tables, long positions, int batch, int blockSize, int rowBytes) {
        modules.get("moba_decode.cu").launchGrid("decode_append", blocks(rowBytes / 16, 128), batch, 1, 128, 0, k, v,
                tables, positions, blockSize, rowBytes);
    }

    /** Moves every sequence's device position on by one token. */
    void decodeAdvance(long positions, int batch) {
        modules.get("moba_decode.cu").launch("decode_advance", blocks(batch, 128), 128, 0, positions, batch);
    }

    /**
     * Gating of one token per sequence against each sequence's own means ({@code means[b]}, same capacity): one CTA
     * per query row. Capacity is at most {@link #MAX_DECODE_CANDIDATES}.
     */
    void gateDecode(long q, DType qType, int batch, int qHeads, int group, int dim, long positions, int blockSize,
                    long means, int capacity, int picks, long out) {
        modules.get("moba_gate.cu").launch("gate_decode", batch * qHeads, 256, (dim + capacity) * Float.BYTES, q,
                qType.ordinal(), batch, qHeads, group, dim, positions, blockSize, means, capacity, picks, out);
    }

    /**
     * Split-K attention of one token per sequence over its {@code picks} selected blocks and its own block, in
     * ranges of {@link #DECODE_SPLIT} keys: partial {@code slot * splits + range} of each row.
     */
    void decodeAttend(long q, KvSpec spec, int qHeads, int batch, long tables, long positions, long selection,
                      int picks, int splits, float scale, long partOut, long partLse) {
        String kernel = "decode_attend_" + (spec.dtype() == DType.BF16 ? "bf16" : "fp16") + "_d" + spec.headDim();
        modules.get("moba_decode.cu").launchGrid(kernel, splits, picks + 1, batch * qHeads, 128, 0, q, qHeads,
                qHeads / spec.kvHeads(), spec.kvHeads(), tables, positions, spec.blockSize(), selection, picks, splits,
                (float) (scale / Math.log(2)), partOut, partLse);
    }

    /**
     * Selects the {@code picks} best sealed blocks per query row into {@code out} ({@code int[rows][picks]}).
     * {@code q} is {@code [n][qHeads][dim]} in {@code qType}; {@code means} is per kv head {@code [dim][capacity]}.
     */
    void gate(long q, DType qType, int n, int qHeads, int group, int dim, int first, int blockSize, long means,
              int kvHeads, int capacity, int picks, long out) {
        long rows = (long) n * qHeads;
        if (dim <= GATE_TILE_DIM && dim % 8 == 0 && capacity % 4 == 0) {
            modules.get("moba_gate.cu").launchGrid("gate_tiles_" + tilePicks(picks), (n + GATE_TILE - 1) / GATE_TILE, qHeads, 1,
                    256, gateTileSharedBytes(dim), q, qType.ordinal(), n, qHeads, group, dim, first, blockSize, means,
                    capacity, picks, out);
            return;
        }
        modules.get("moba_gate.cu").launch("gate_topk", (int) ((rows + GATE_WARPS - 1) / GATE_WARPS),
                GATE_WARPS * 32, 0, q, qType.ordinal(), n, qHeads, group, dim, first, blockSize, means, kvHeads,
                capacity, picks, out);
    }

    /** Whether {@link #gateTerms} runs queries of this type and head dimension. */
    static boolean gateTermsSupport(DType qType, int dim) {
        return qType != DType.FP32 && dim % 16 == 0 && dim <= GATE_TILE_DIM;
    }

    /**
     * Splits {@code n} fp32 block means into the three bf16 terms {@link #gateTerms} reads: term {@code p} of value
     * {@code i} at {@code terms + (p * n + i) * 2}.
     */
    void splitMeans(long means, long n, long terms) {
        modules.get("moba_gate.cu").launch("gate_split_means", grid(n, 256), 256, 0, means, n, terms);
    }

    /**
     * {@link #gate} on the tensor cores, for queries in bf16 or fp16 with head dimensions that are multiples of 16
     * up to 128 ({@link #gateTermsSupport}): {@code terms} holds the split means ({@link #splitMeans} of the
     * {@code [kvHeads][dim][capacity]} matrices; capacity a multiple of 8). On Hopper, bf16 queries of dimension 64
     * or 128 take the warpgroup-product kernel (same sums, same order, so the same selection).
     */
    void gateTerms(long q, DType qType, int n, int qHeads, int group, int dim, int first, int blockSize, long terms,
                   int kvHeads, int capacity, int picks, long out) {
        if (!gateTermsSupport(qType, dim) || capacity % 8 != 0) {
            throw new IllegalArgumentException("the tensor-core gate takes 16-bit queries, head dimensions that are "
                    + "multiples of 16 up to 128 and a capacity that is a multiple of 8; got " + qType + ", " + dim
                    + ", " + capacity);
        }
        int tiles = (n + GATE_MMA_TOKENS - 1) / GATE_MMA_TOKENS;
        if (warpgroupGate && qType == DType.BF16 && (dim == 64 || dim == 128)) {
            modules.get("moba_gate.cu").launchGrid(gateWarpgroupKernel(dim, tilePicks(picks)), tiles, qHeads, 1, 256,
                    gateWarpgroupSharedBytes(dim), q, n, qHeads, group, first, blockSize, terms, kvHeads, capacity,
                    picks, out);
            return;
        }
        modules.get("moba_gate.cu").launchGrid("gate_mma_" + tilePicks(picks), tiles, qHeads, 1, 256,
                gateMmaSharedBytes(qType, dim), q, qType.ordinal(), n, qHeads, group, dim, first, blockSize, terms,
                kvHeads, capacity, picks, out);
    }

    /** Runs {@code count} attention entries ({@code int4 {row, block, keys, slot}}) into slot partials, in fp32. */
    void attend(long q, int qHeads, int group, int dim, long table, KvSpec spec, float scale, long entries, int count,
                int slots, long partOut, long partLse) {
        modules.get("moba_attend.cu").launch("attend_entries", (count + ATTEND_WARPS - 1) / ATTEND_WARPS,
                ATTEND_WARPS * 32, 0, q, qHeads, group, dim, table, spec.blockSize(), spec.kvHeads(),
                spec.dtype().ordinal(), scale, entries, count, slots, partOut, partLse);
    }

    /**
     * Runs attention lists ({@code struct TileList}, {@link #LIST_INTS} ints each) on the tensor cores, one CTA per
     * tile of {@link #TILE_ROWS} rows, numbered from the first list's first tile; {@code q} is in the storage type,
     * rows {@code [rows][dim]}. {@code tiles} may exceed the lists' tiles (extra CTAs return at once), so callers
     * need not read the count back. {@code table} is a cache's block table (keys, then values, per block). With
     * {@code merged} 0, each row's result goes to its partial slot; otherwise the row's earlier slots are folded in
     * and the final output is stored at {@code merged} in the storage type.
     */
    void attendTiles(long q, int qHeads, int first, long table, KvSpec spec, float scale, long lists,
                     long tileStarts, int listCount, long entries, int slots, long partOut, long partLse, long tiles,
                     long merged) {
        if (tiles == 0) {
            return;
        }
        float scaleLog2 = (float) (scale / Math.log(2));
        modules.get("moba_tiles.cu").launch(tileKernel.name(spec.dtype(), spec.headDim()), Math.toIntExact(tiles),
                tileKernel.threads(), tileKernel.sharedBytes(spec.headDim()), q, qHeads, first, table,
                CudaKvCache.keyBytesPerBlock(spec), spec.blockSize(), spec.kvHeads(), scaleLog2, lists, tileStarts,
                listCount, entries, slots, partOut, partLse, merged);
    }

    /** Rounds {@code n} fp32 values at {@code from} to {@code dtype} at {@code to}. */
    void convert(long from, long n, DType dtype, long to) {
        modules.get("moba_tiles.cu").launch("convert_from_f32", grid(n, 256), 256, 0, from, n, dtype.ordinal(), to);
    }

    /**
     * Merges each row's slot partials into {@code out} ({@code [rows][dim]} in {@code outType}) and {@code lse}
     * (none when 0), one CTA per row.
     */
    void merge(long partOut, long partLse, int rows, int slots, int dim, long out, DType outType, long lse) {
        modules.get("moba_attend.cu").launch("merge_slots", rows, 128, slots * Float.BYTES, partOut, partLse, rows,
                slots, dim, out, outType.ordinal(), lse);
    }

    /** Counts the selected (row, slot) pairs per (kv head, history block) into zeroed {@code counts}. */
    void planCount(long selection, long rows, int picks, int qHeads, int group, int historyBlocks, long counts) {
        modules.get("moba_plan.cu").launch("plan_count", blocks(rows * picks, PLAN_SPAN), PLAN_THREADS,
                planSharedBytes(qHeads / group * historyBlocks), selection, rows, picks, qHeads, group, historyBlocks,
                counts);
    }

    /** Lays out history lists then causal lists, with entry offsets and tile numbers. */
    void planLists(long counts, int kvHeads, int historyBlocks, int blocks, int tokens, int blockSize, int group,
                   long lists, long tileStarts) {
        modules.get("moba_plan.cu").launch("plan_lists", 1, PLAN_THREADS, 0, counts, kvHeads, historyBlocks, blocks,
                tokens, blockSize, group, TILE_ROWS, lists, tileStarts);
    }

    /** Writes the selected pairs into their history lists; {@code cursors} starts zeroed. */
    void planFillHistory(long selection, long rows, int picks, int qHeads, int group, int historyBlocks, long lists,
                         long cursors, long entries) {
        modules.get("moba_plan.cu").launch("plan_fill_history", blocks(rows * picks, PLAN_SPAN), PLAN_THREADS,
                planSharedBytes(qHeads / group * historyBlocks), selection, rows, picks, qHeads, group, historyBlocks,
                lists, cursors, entries);
    }

    /** Writes every query row into the causal list of its own block. */
    void planFillCausal(int tokens, int qHeads, int group, int blockSize, int blocks, int historyLists, int picks,
                        long lists, long entries) {
        modules.get("moba_plan.cu").launch("plan_fill_causal", blocks((long) tokens * qHeads, 256), 256, 0,
                tokens, qHeads, group, blockSize, blocks, historyLists, picks, lists, entries);
    }

    /** Fills {@code n} values of {@code dtype} at {@code to} with seeded N(0, 1) samples. */
    void fillNormal(long to, long n, DType dtype, long seed) {
        modules.get("moba_random.cu").launch("fill_normal", grid(n, 256), 256, 0, to, n, dtype.ordinal(), seed);
    }

    /** Sets {@code count} 32-bit words at {@code address} to {@code bits}. */
    void fill(long address, long count, int bits) {
        check(cuMemsetD32(address, bits, count), "cuMemsetD32");
    }

    /** Sets {@code count} floats at {@code address} to negative infinity: slots no entry writes. */
    void fillNegativeInfinity(long address, long count) {
        fill(address, count, Float.floatToRawIntBits(Float.NEGATIVE_INFINITY));
    }

    @Override
    public void close() {
        modules.values().forEach(KernelModule::close);
    }

    /** CTAs for a kernel whose threads each take one item. */
    private static int blocks(long threads, int block) {
        return Math.toIntExact(Math.max(1, (threads + block - 1) / block));
    }

    /** CTAs for a kernel that strides over its items: enough to fill the device. */
    private int grid(long threads, int block) {
        return (int) Math.max(1, Math.min(gridLimit, (threads + block - 1) / block));
    }

    /** The tiled gates' kernel for {@code picks}: the smallest register list that holds them. */
    private static int tilePicks(int picks) {
        return Arrays.stream(GATE_TILE_PICKS).filter(p -> p >= picks).findFirst().orElseThrow();
    }

    /** Shared memory of the tensor-core gate: the query terms, two stages of the three mean terms. */
    private static int gateMmaSharedBytes(DType qType, int dim) {
        int queryTerms = qType == DType.BF16 ? 1 : 2;
        return (queryTerms * GATE_MMA_TOKENS * (dim + 8) + 2 * 3 * dim * (GATE_MMA_CANDIDATES + 8)) * Short.BYTES;
    }

    /** The warpgroup-product gate (Hopper, bf16 queries) for a head dimension of 64 or 128. */
    private static String gateWarpgroupKernel(int dim, int picks) {
        return "gate_wg_d" + dim + "_" + picks;
    }

    /**
     * Shared memory of the warpgroup-product gate: the queries, three stages of 32 candidates' three mean terms,
     * and 1 KB of slack to start the swizzled queries on a 1024-byte boundary.
     */
    private static int gateWarpgroupSharedBytes(int dim) {
        return (GATE_MMA_TOKENS * dim + 3 * 3 * dim * GATE_MMA_CANDIDATES) * Short.BYTES + 1024;
    }

    /** Shared memory of the tiled gate: transposed queries (stride 68), a chunk of means, the chunk's scores. */
    private static int gateTileSharedBytes(int dim) {
        return (dim * (68 + GATE_TILE) + GATE_TILE * (GATE_TILE + 1)) * Float.BYTES;
    }

    /** Shared memory of the planning kernels: a counter per history list where they fit, else none. */
    private static int planSharedBytes(int historyLists) {
        return historyLists <= PLAN_SHARED_LISTS ? historyLists * Integer.BYTES : 0;
    }
}
