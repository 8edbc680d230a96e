package dev.moba.cli;

import dev.moba.config.HeadLayout;
import dev.moba.tensor.DType;
import java.util.Locale;

/**
 * What every point of one {@code moba bench} shares: where and how it runs, and the shape of the attention.
 *
 * @param backend id of the backend that ran
 * @param dtype   storage type of q, k and v
 * @param layout  heads and head dimension
 * @param block   block size
 * @param topK    blocks each query reads, its own included
 * @param threads worker threads asked for, or {@code null} for the configured number
 */
record BenchSetup(String backend, DType dtype, HeadLayout layout, int block, int topK, Integer threads) {

    /** One line for a chart title, for example {@code java fp32, 8/2 heads, dim 128, block 512, top-3}. */
    String describe() {
        return String.format(Locale.ROOT, "%s %s, %d/%d heads, dim %d, block %d, top-%d", backend, dtype,
                layout.qHeads(), layout.kvHeads(), layout.headDim(), block, topK);
    }
}
