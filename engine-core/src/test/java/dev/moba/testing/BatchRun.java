package dev.moba.testing;

import dev.moba.attention.MobaAttention;
import dev.moba.attention.VarlenBatch;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.function.Function;

/**
 * Runs a varlen batch through the synchronous core on one backend ({@link VarlenBatch}: every sequence of the
 * batch fed as one call per step of {@code chunk} tokens, 0 for whole sequences) and returns all outputs, sequence
 * after sequence. Backend comparison tests run the same batch on two backends with it.
 */
public final class BatchRun {

    private BatchRun() {}

    public static float[] outputs(Backend backend, MobaConfig config, HeadLayout layout, List<Qkv> data, int chunk) {
        int[] cuSeqlens = new int[data.size() + 1];
        for (int s = 0; s < data.size(); s++) {
            cuSeqlens[s + 1] = cuSeqlens[s] + data.get(s).tokens();
        }
        int tokens = cuSeqlens[data.size()];
        int row = layout.qHeads() * layout.headDim();
        float[] all = new float[tokens * row];
        // Shared: backends read the inputs on their worker threads.
        try (Arena arena = Arena.ofShared(); var layer = new MobaAttention(config, layout, backend)) {
            Tensor q = packed(arena, data, layout.qHeads(), layout.headDim(), Qkv::q);
            Tensor k = packed(arena, data, layout.kvHeads(), layout.headDim(), Qkv::k);
            Tensor v = packed(arena, data, layout.kvHeads(), layout.headDim(), Qkv::v);
            VarlenBatch.run(layer, cuSeqlens, q, k, v, chunk, (from, position, result) -> {
                float[] values = result.output().toFloatArray();
                System.arraycopy(values, 0, all, from * row, values.length);
            });
        }
        return all;
    }

    private static Tensor packed(Arena arena, List<Qkv> data, int heads, int dim,
                                 Function<Qkv, float[]> part) {
        int tokens = data.stream().mapToInt(Qkv::tokens).sum();
        float[] values = new float[tokens * heads * dim];
        int at = 0;
        for (Qkv d : data) {
            float[] p = part.apply(d);
            System.arraycopy(p, 0, values, at, p.length);
            at += p.length;
        }
        return Tensor.of(arena, DType.FP32, tokens, heads, dim, values);
    }
}
