package dev.moba.actor;

import dev.moba.attention.ChunkChecks;
import dev.moba.config.HeadLayout;
import dev.moba.engine.InvalidChunkException;
import dev.moba.merge.Partials;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The caller's copy of a chunk's attention output: in the caller's tensor, or in memory the collector frees. */
final class Outputs {

    private Outputs() {}

    /**
     * Throws {@link InvalidChunkException} unless {@code output} is null or an fp32 {@code [tokens, qHeads, dim]}
     * tensor the engine's threads can write.
     */
    static void requireWritable(Tensor output, int tokens, HeadLayout layout, String where) {
        if (output == null) {
            return;
        }
        try {
            ChunkChecks.requireOutputShape(layout, output, tokens, where);
        } catch (IllegalArgumentException e) {
            throw new InvalidChunkException(e.getMessage(), e);
        }
        if (!output.isShared()) {
            throw new InvalidChunkException("the output is in thread-confined memory, which the engine's threads "
                    + "cannot write: allocate it in a shared or automatic arena" + where);
        }
    }

    /**
     * {@code partials}' output as an fp32 {@code [tokens, heads, dim]} tensor: written to {@code into}, or, when it
     * is null, to memory the garbage collector frees. The partials live in reused scratch memory; the output
     * belongs to the caller.
     */
    static Tensor copy(Partials partials, Tensor into, int tokens, int heads, int dim) {
        Tensor out = target(into, tokens, heads, dim);
        MemorySegment.copy(partials.output(), 0, out.segment(), 0, out.segment().byteSize());
        return out;
    }

    /** An all-zero output (a chunk of no tokens): {@code into} cleared, or fresh memory. */
    static Tensor zeros(Tensor into, int tokens, int heads, int dim) {
        Tensor out = target(into, tokens, heads, dim);
        out.segment().fill((byte) 0);
        return out;
    }

    /** {@code into}, or fresh zeroed memory the garbage collector frees. */
    private static Tensor target(Tensor into, int tokens, int heads, int dim) {
        return into != null ? into : Tensor.allocate(Arena.ofAuto(), DType.FP32, tokens, heads, dim);
    }
}
