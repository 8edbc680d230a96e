package dev.moba.verify;

import dev.moba.attention.Chunk;
import dev.moba.attention.MobaAttention;
import dev.moba.attention.Sequence;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a case straight through the synchronous core, {@link MobaAttention}. One-shot ({@code chunk == 0}) feeds
 * every sequence whole, as one varlen batch. Chunked feeds the sequences side by side, each batch holding the next
 * {@code chunk} tokens of every sequence that has any left, so batching, block boundaries inside and across
 * chunks, and decode-sized steps are all exercised.
 */
public final class CorePath implements CasePath {

    private final Backend backend;
    private final DType dtype;
    private final int chunk;

    /** @param chunk tokens per step, or 0 for one-shot */
    public CorePath(Backend backend, DType dtype, int chunk) {
        this.backend = backend;
        this.dtype = dtype;
        this.chunk = CaseChunks.requireChunk(chunk);
    }

    @Override
    public Tensor output(GoldenCase c, Arena arena) {
        Tensor out = Tensor.allocate(arena, DType.FP32, c.q().tokens(), c.layout().qHeads(), c.layout().headDim());
        try (var layer = new MobaAttention(c.config(dtype), c.layout(), backend)) {
            List<Sequence> sequences = new ArrayList<>();
            for (int s = 0; s < c.sequences(); s++) {
                sequences.add(layer.openSequence());
            }
            int stepTokens = chunk == 0 ? c.longestSequence() : chunk;
            for (int offset = 0; offset < c.longestSequence(); offset += stepTokens) {
                List<Chunk> batch = new ArrayList<>();
                List<Integer> starts = new ArrayList<>();
                for (int s = 0; s < c.sequences(); s++) {
                    int from = c.cuSeqlens()[s] + offset;
                    int to = Math.min(c.cuSeqlens()[s + 1], from + stepTokens);
                    if (from < to) {
                        batch.add(new Chunk(sequences.get(s), c.q().slice(from, to), c.k().slice(from, to),
                                c.v().slice(from, to)));
                        starts.add(from);
                    }
                }
                try (Arena step = Arena.ofConfined()) {
                    List<Tensor> outputs = layer.forward(batch, step);
                    for (int i = 0; i < outputs.size(); i++) {
                        Tensor o = outputs.get(i);
                        MemorySegment.copy(o.segment(), 0, out.slice(starts.get(i), starts.get(i) + o.tokens())
                                .segment(), 0, o.segment().byteSize());
                    }
                }
            }
        }
        return out;
    }

    @Override
    public String describe() {
        return "core, " + CaseChunks.describe(chunk);
    }
}
