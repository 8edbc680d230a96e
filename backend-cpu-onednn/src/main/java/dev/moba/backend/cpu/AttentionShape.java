package dev.moba.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;

import dev.moba.backend.cpu.MatMulPrimitive.Operand;
import dev.moba.tensor.DType;

/**
 * The matmul geometry of block attention over one cache layout ({@link dev.moba.kv.HostKvCache}: keys transposed
 * {@code [dim][paddedBlock]}, values {@code [paddedBlock][paddedDim]}) in one compute type. Every primitive the
 * backend creates belongs to one shape and one (rows, keys) bucket.
 *
 * @param storage     storage type of the keys and values
 * @param computeType oneDNN type the matmuls read: the storage type where oneDNN has kernels for it, else fp32
 *                    (the block is then widened before use)
 * @param dim         head dimension
 * @param paddedBlock row stride of the transposed keys, rows of the values
 * @param paddedDim   row stride of the values
 */
record AttentionShape(DType storage, int computeType, int dim, int paddedBlock, int paddedDim) {

    /** Query rows one tile may hold: the largest row bucket. */
    static final int MAX_ROWS = 128;

    private static final int[] ROW_BUCKETS = {16, 64, MAX_ROWS};

    /** Whether blocks are widened to fp32 before the matmuls read them. */
    boolean widens() {
        return computeType == dnnl_f32 && storage != DType.FP32;
    }

    /** Bytes per element of the compute type. */
    int computeBytes() {
        return computeType == dnnl_f32 ? Float.BYTES : 2;
    }

    /** The smallest row bucket holding {@code rows} (at most {@link #MAX_ROWS}). */
    static int rowBucket(int rows) {
        for (int bucket : ROW_BUCKETS) {
            if (rows <= bucket) return bucket;
        }
        throw new IllegalArgumentException(rows + " rows exceed a tile of " + MAX_ROWS);
    }

    /**
     * The key-count bucket holding {@code keys}: a multiple of a step of at least 64 keys and one eighth of the block,
     * capped at the padded block, so a block size has at most about eight of them and a causal block wastes at
     * most one step of work.
     */
    int keyBucket(int keys) {
        int step = Math.max(64, (paddedBlock / 8 + 15) / 16 * 16);
        return Math.min(paddedBlock, (keys + step - 1) / step * step);
    }

    /** Scores: queries {@code [rows, dim]} x transposed keys {@code [dim, keys]} -> fp32 {@code [rows, keys]}. */
    Operand[] scores(int rows, int keys) {
        return new Operand[] {
                new Operand(rows, dim, computeType, dim, 1),
                new Operand(dim, keys, computeType, paddedBlock, 1),
                new Operand(rows, keys, dnnl_f32, paddedBlock, 1)};
    }

    /** Outputs: probabilities {@code [rows, keys]} x values {@code [keys, dim]} -> fp32 {@code [rows, dim]}. */
    Operand[] outputs(int rows, int keys) {
        return new Operand[] {
                new Operand(rows, keys, computeType, paddedBlock, 1),
                new Operand(keys, dim, computeType, paddedDim, 1),
                new Operand(rows, dim, dnnl_f32, dim, 1)};
    }
}
