package dev.moba.backend.cuda;

import dev.moba.tensor.DType;

/**
 * The attention tile kernels of {@code moba_tiles.cu} and their launch geometry. Both take the same arguments and
 * compute the same numbers; {@link #forDevice} picks the faster one the device runs.
 */
enum TileKernel {
    /** Four warps of {@code mma.sync} products, rows padded by 8 values against bank conflicts: any GPU from sm_80. */
    MMA_SYNC("attend_tiles_", 128, 8, 0),
    /**
     * Two warpgroups of {@code wgmma} products over 128-byte swizzled operands (Hopper's sm_90a); 1 KB of slack
     * lets the kernel start its tiles on the swizzle's 1024-byte period.
     */
    WARPGROUP("attend_wg_", 256, 0, 1024);

    private static final int TILE_KEYS = 64;

    private final String prefix;
    private final int threads;
    private final int pad;
    private final int slack;

    TileKernel(String prefix, int threads, int pad, int slack) {
        this.prefix = prefix;
        this.threads = threads;
        this.pad = pad;
        this.slack = slack;
    }

    /** The kernel for {@code device}: warpgroup products where it has them. */
    static TileKernel forDevice(CudaDevice device) {
        return device.hasWarpgroupProducts() ? WARPGROUP : MMA_SYNC;
    }

    /** The kernel's name for a storage type (bf16 or fp16) and head dimension (64 or 128). */
    String name(DType dtype, int dim) {
        return prefix + (dtype == DType.BF16 ? "bf16" : "fp16") + "_d" + dim;
    }

    int threads() {
        return threads;
    }

    /** Dynamic shared memory: a tile of queries and two stages of keys and of values. */
    int sharedBytes(int dim) {
        return (CudaKernels.TILE_ROWS + 4 * TILE_KEYS) * (dim + pad) * Short.BYTES + slack;
    }
}
