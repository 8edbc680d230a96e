package dev.moba.actor;

import dev.moba.merge.Partials;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The caller's copy of a chunk's attention output. */
final class Outputs {

    private Outputs() {}

    /**
     * {@code partials}' output as an fp32 {@code [tokens, heads, dim]} tensor in memory the garbage collector frees:
     * the partials live in reused scratch memory, the output belongs to the caller.
     */
    static Tensor copy(Partials partials, int tokens, int heads, int dim) {
        Tensor out = Tensor.allocate(Arena.ofAuto(), DType.FP32, tokens, heads, dim);
        MemorySegment.copy(partials.output(), 0, out.segment(), 0, out.segment().byteSize());
        return out;
    }
}
