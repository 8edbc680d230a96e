package dev.moba.cli;

import dev.moba.attention.VarlenBatch;
import dev.moba.config.HeadLayout;
import dev.moba.io.ArrayFiles.Format;
import dev.moba.io.StoredArray;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;

/**
 * The checked input of {@code moba run}: q, k and v as views of the input file, the sequence boundaries and the head
 * layout they imply. Every check names the input, the problem and the fix.
 *
 * @param cuSeqlens sequence boundaries; {@code [0, tokens]} (one sequence) when the input has none
 */
record RunInput(Tensor q, Tensor k, Tensor v, int[] cuSeqlens, HeadLayout layout) {

    static final String CU_SEQLENS = "cu_seqlens";

    /**
     * Checks the arrays read from {@code in} and wraps them; nothing is copied but the boundaries.
     *
     * @throws IllegalArgumentException naming {@code in}, the problem and the fix
     */
    static RunInput of(Path in, Map<String, StoredArray> arrays) {
        Tensor q = tensor(in, arrays, "q", "q_heads");
        Tensor k = tensor(in, arrays, "k", "kv_heads");
        Tensor v = tensor(in, arrays, "v", "kv_heads");
        if (k.tokens() != q.tokens() || v.tokens() != q.tokens()) {
            throw error(in, "q, k and v must have the same number of tokens, got " + q.tokens() + ", " + k.tokens()
                    + " and " + v.tokens() + ": export all three for the same tokens");
        }
        if (k.dim() != q.dim() || v.dim() != q.dim()) {
            throw error(in, "q, k and v must have the same head_dim, got " + q.dim() + ", " + k.dim() + " and "
                    + v.dim() + ": export them split into heads of one size, [tokens, heads, head_dim]");
        }
        if (v.heads() != k.heads()) {
            throw error(in, "k and v must have the same kv_heads, got " + k.heads() + " and " + v.heads()
                    + ": export both [tokens, kv_heads, head_dim]");
        }
        if (q.heads() % k.heads() != 0) {
            throw error(in, "q_heads (" + q.heads() + ") must be a multiple of kv_heads (" + k.heads() + "): check"
                    + " that q is [tokens, q_heads, head_dim] and k, v are [tokens, kv_heads, head_dim]");
        }
        if (q.tokens() == 0) {
            throw error(in, "q, k and v hold no tokens: export at least one");
        }
        int[] cuSeqlens = arrays.containsKey(CU_SEQLENS)
                ? boundaries(in, arrays.get(CU_SEQLENS), q.tokens())
                : new int[] {0, q.tokens()};
        return new RunInput(q, k, v, cuSeqlens, new HeadLayout(q.heads(), k.heads(), q.dim()));
    }

    /** Tokens of the batch. */
    int tokens() {
        return q.tokens();
    }

    /** Sequences of the batch. */
    int sequences() {
        return cuSeqlens.length - 1;
    }

    /** Tokens of the longest sequence. */
    int longestSequence() {
        int longest = 0;
        for (int s = 0; s < sequences(); s++) {
            longest = Math.max(longest, cuSeqlens[s + 1] - cuSeqlens[s]);
        }
        return longest;
    }

    /** The type q, k and v share, or fp32 when they differ. */
    DType commonDtype() {
        return q.dtype() == k.dtype() && k.dtype() == v.dtype() ? q.dtype() : DType.FP32;
    }

    private static Tensor tensor(Path in, Map<String, StoredArray> arrays, String name, String heads) {
        StoredArray a = arrays.get(name);
        if (a == null) {
            String missing = Format.of(in) == Format.SAFETENSORS
                    ? in + " has no tensor '" + name + "' (it holds " + names(arrays) + ")"
                    : in.resolve(name + ".npy") + " is missing";
            throw new IllegalArgumentException(missing + ": store q as [tokens, q_heads, head_dim], k and v as"
                    + " [tokens, kv_heads, head_dim] under the names q, k, v");
        }
        if (a.type().floatType().isEmpty()) {
            throw error(in, name + " is " + a.type() + "; q, k and v must be F32, BF16 or F16: convert with"
                    + " .float(), .bfloat16() or .half() before saving");
        }
        long[] shape = a.shape();
        if (shape.length != 3) {
            throw error(in, name + " has shape " + a.shapeText() + ", not [tokens, " + heads + ", head_dim]: reshape"
                    + " it to three dimensions, e.g. x.view(tokens, " + heads + ", head_dim)");
        }
        if (shape[1] == 0 || shape[2] == 0) {
            throw error(in, name + " has shape " + a.shapeText() + ", with no heads or an empty head_dim: export"
                    + " [tokens, " + heads + ", head_dim]");
        }
        return a.asTensor();
    }

    private static int[] boundaries(Path in, StoredArray a, int tokens) {
        int[] bounds;
        try {
            bounds = a.toIntArray();
        } catch (IllegalArgumentException e) {
            throw error(in, e.getMessage() + ": save the boundaries as torch.tensor([0, len0, len0 + len1, ...],"
                    + " dtype=torch.int32)");
        }
        try {
            VarlenBatch.requireBoundaries(bounds, tokens);
        } catch (IllegalArgumentException e) {
            throw error(in, e.getMessage() + ": cu_seqlens holds the sequence boundaries [0, len0, len0 + len1, ...,"
                    + " tokens], each sequence at least one token");
        }
        return bounds;
    }

    private static String names(Map<String, StoredArray> arrays) {
        return arrays.isEmpty() ? "no tensor" : String.join(", ", arrays.keySet());
    }

    private static IllegalArgumentException error(Path in, String problem) {
        return new IllegalArgumentException(in + ": " + problem);
    }
}
