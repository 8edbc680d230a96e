package dev.moba.testing;

import dev.moba.attention.Chunk;
import dev.moba.attention.MobaAttention;
import dev.moba.attention.Sequence;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a varlen batch through the synchronous core on one backend, feeding every sequence of the batch as one
 * call per step of {@code chunk} tokens (0: the whole of each sequence at once), and returns all outputs,
 * sequence after sequence. Backend comparison tests run the same batch on two backends with it.
 */
public final class BatchRun {

    private BatchRun() {}

    public static float[] outputs(Backend backend, MobaConfig config, HeadLayout layout, List<Qkv> data, int chunk) {
        int qHeads = layout.qHeads();
        int dim = layout.headDim();
        List<float[]> outputs = new ArrayList<>();
        data.forEach(d -> outputs.add(new float[d.tokens() * qHeads * dim]));
        int longest = data.stream().mapToInt(Qkv::tokens).max().orElseThrow();
        int step = chunk == 0 ? longest : chunk;
        try (var layer = new MobaAttention(config, layout, backend)) {
            List<Sequence> sequences = data.stream().map(d -> layer.openSequence()).toList();
            for (int from = 0; from < longest; from += step) {
                try (Arena arena = Arena.ofConfined()) {
                    List<Chunk> batch = new ArrayList<>();
                    List<Integer> owners = new ArrayList<>();
                    for (int s = 0; s < data.size(); s++) {
                        Qkv d = data.get(s);
                        int to = Math.min(d.tokens(), from + step);
                        if (from < to) {
                            batch.add(new Chunk(sequences.get(s), d.q(arena, DType.FP32, from, to),
                                    d.k(arena, DType.FP32, from, to), d.v(arena, DType.FP32, from, to)));
                            owners.add(s);
                        }
                    }
                    List<Tensor> out = layer.forward(batch, arena);
                    for (int i = 0; i < out.size(); i++) {
                        float[] values = out.get(i).toFloatArray();
                        System.arraycopy(values, 0, outputs.get(owners.get(i)), from * qHeads * dim, values.length);
                    }
                }
            }
        }
        int total = outputs.stream().mapToInt(o -> o.length).sum();
        float[] all = new float[total];
        int at = 0;
        for (float[] o : outputs) {
            System.arraycopy(o, 0, all, at, o.length);
            at += o.length;
        }
        return all;
    }
}
