package dev.moba.attention;

import dev.moba.config.HeadLayout;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;

/**
 * The checks every chunk passes before anything changes: q, k and v present, shaped for the layer, of one length,
 * and finite. Shared by the core and the streaming engine so both refuse the same input with the same words.
 */
public final class ChunkChecks {

    private ChunkChecks() {}

    /**
     * Throws {@link IllegalArgumentException} naming the problem, suffixed with {@code where} (may be empty), unless
     * q is {@code [n, qHeads, headDim]}, k and v are {@code [n, kvHeads, headDim]} and every value is finite.
     * Costs one pass over the three tensors.
     */
    public static void requireFits(HeadLayout layout, Tensor q, Tensor k, Tensor v, String where) {
        requireShape(layout, "q", q, layout.qHeads(), where);
        requireShape(layout, "k", k, layout.kvHeads(), where);
        requireShape(layout, "v", v, layout.kvHeads(), where);
        if (k.tokens() != q.tokens() || v.tokens() != q.tokens()) {
            throw new IllegalArgumentException("q, k and v must have the same number of tokens, got " + q.tokens()
                    + ", " + k.tokens() + ", " + v.tokens() + where);
        }
        requireFinite(q, "q", where);
        requireFinite(k, "k", where);
        requireFinite(v, "v", where);
    }

    /** The message is built only for a tensor that fails: a decode step checks three tensors per layer. */
    private static void requireFinite(Tensor tensor, String name, String where) {
        if (tensor.firstNonFinite() >= 0) {
            tensor.requireFinite(name + where);
        }
    }

    /**
     * Throws {@link IllegalArgumentException} naming the problem, suffixed with {@code where} (may be empty), unless
     * {@code out} is an fp32 {@code [tokens, qHeads, headDim]} tensor, the shape of a chunk's output.
     */
    public static void requireOutputShape(HeadLayout layout, Tensor out, int tokens, String where) {
        if (out.dtype() != DType.FP32 || out.tokens() != tokens || out.heads() != layout.qHeads()
                || out.dim() != layout.headDim()) {
            throw new IllegalArgumentException("the output has shape " + out.shapeText() + " in " + out.dtype()
                    + " but the chunk's output is fp32 [" + tokens + ", " + layout.qHeads() + ", "
                    + layout.headDim() + "]" + where);
        }
    }

    private static void requireShape(HeadLayout layout, String name, Tensor t, int heads, String where) {
        if (t == null) {
            throw new IllegalArgumentException(name + " is missing" + where);
        }
        if (t.heads() != heads || t.dim() != layout.headDim()) {
            throw new IllegalArgumentException(name + " has shape " + t.shapeText() + " but the layer expects [n, "
                    + heads + ", " + layout.headDim() + "]" + where);
        }
    }
}
