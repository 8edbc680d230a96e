package dev.moba.backend.cuda;

import static dev.moba.backend.cuda.CudaCalls.check;
import static org.bytedeco.cuda.global.cudart.cuMemsetD32;

import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;
import java.util.List;

/**
 * The MoBA kernels of one device, with their launch geometry: each method launches one kernel on the default
 * stream and returns without waiting (call inside {@link CudaDevice#run}).
 */
final class CudaKernels implements AutoCloseable {

    /** The most history blocks {@link #gate} selects per query row (the kernel keeps them in registers). */
    static final int MAX_GATE_PICKS = 16;
    /** The largest head dimension {@link #attend} takes. */
    static final int MAX_ATTEND_DIM = 256;

    private static final List<String> SOURCES = List.of("moba_kv.cu", "moba_gate.cu", "moba_attend.cu");
    private static final int GATE_WARPS = 4;
    private static final int ATTEND_WARPS = 4;

    private final List<KernelModule> modules;
    private final int gridLimit;

    CudaKernels(CudaDevice device, KernelCompiler compiler) {
        this.modules = SOURCES.stream().map(s -> new KernelModule(compiler.cubin(s, device.architecture()))).toList();
        this.gridLimit = device.multiprocessors() * 16;
    }

    /** Stores tokens {@code [first, first + n)} of staged k and v (in {@code source} type) into their blocks. */
    void appendKv(long k, long v, DType source, int n, int first, long table, KvSpec spec, int row) {
        long elements = (long) n * row;
        int grid = (int) Math.min(gridLimit, (elements + 255) / 256);
        modules.get(0).launch("kv_append", grid, 256, 0, k, v, source.ordinal(), n, first, table,
                spec.blockSize(), row, spec.dtype().ordinal());
    }

    /** Writes the fp32 mean key of {@code block} ({@code row} values) to {@code out}. */
    void blockMean(long table, int block, KvSpec spec, int row, long out) {
        modules.get(0).launch("kv_block_mean", (row + 127) / 128, 128, 0, table, block, spec.blockSize(), row,
                spec.dtype().ordinal(), out);
    }

    /**
     * Selects the {@code picks} best sealed blocks per query row into {@code out} ({@code int[rows][picks]}).
     * {@code means} is the summary table's layout: per kv head, {@code [headDim][capacity]}.
     */
    void gate(long q, int n, int qHeads, int group, int dim, int first, int blockSize, long means, int kvHeads,
              int capacity, int picks, long out) {
        long rows = (long) n * qHeads;
        modules.get(1).launch("gate_topk", (int) ((rows + GATE_WARPS - 1) / GATE_WARPS), GATE_WARPS * 32, 0,
                q, n, qHeads, group, dim, first, blockSize, means, kvHeads, capacity, picks, out);
    }

    /** Runs {@code count} attention entries ({@code int4 {row, block, keys, slot}}) into slot partials. */
    void attend(long q, int qHeads, int group, int dim, long table, KvSpec spec, float scale, long entries, int count,
                int slots, long partOut, long partLse) {
        modules.get(2).launch("attend_entries", (count + ATTEND_WARPS - 1) / ATTEND_WARPS, ATTEND_WARPS * 32, 0,
                q, qHeads, group, dim, table, spec.blockSize(), spec.kvHeads(), spec.dtype().ordinal(), scale,
                entries, count, slots, partOut, partLse);
    }

    /** Sets {@code count} floats at {@code address} to negative infinity: slots no entry writes. */
    void fillNegativeInfinity(long address, long count) {
        check(cuMemsetD32(address, Float.floatToRawIntBits(Float.NEGATIVE_INFINITY), count), "cuMemsetD32");
    }

    /** Merges each row's slot partials into {@code out} ({@code [rows][dim]}) and {@code lse}. */
    void merge(long partOut, long partLse, int rows, int slots, int dim, long out, long lse) {
        modules.get(2).launch("merge_slots", rows, 128, 0, partOut, partLse, rows, slots, dim, out, lse);
    }

    @Override
    public void close() {
        modules.forEach(KernelModule::close);
    }
}
