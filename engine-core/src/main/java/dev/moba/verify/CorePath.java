package dev.moba.verify;

import dev.moba.attention.MobaAttention;
import dev.moba.attention.VarlenBatch;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Runs a case straight through the synchronous core, {@link MobaAttention}, as a {@link VarlenBatch}. One-shot
 * ({@code chunk == 0}) feeds every sequence whole, as one varlen batch. Chunked feeds the sequences side by side,
 * each batch holding the next {@code chunk} tokens of every sequence that has any left, so batching, block
 * boundaries inside and across chunks, and decode-sized steps are all exercised.
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
            VarlenBatch.run(layer, c.cuSeqlens(), c.q(), c.k(), c.v(), chunk, (from, position, result) -> {
                Tensor o = result.output();
                MemorySegment.copy(o.segment(), 0, out.slice(from, from + o.tokens()).segment(), 0,
                        o.segment().byteSize());
            });
        }
        return out;
    }

    @Override
    public String describe() {
        return "core, " + CaseChunks.describe(chunk);
    }
}
