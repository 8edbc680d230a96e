package dev.moba.testing;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * Queries, keys and values of one run of tokens, as row-major float arrays: {@code q} is
 * {@code [tokens, qHeads, dim]}, {@code k} and {@code v} are {@code [tokens, kvHeads, dim]}.
 */
public record Qkv(int tokens, int qHeads, int kvHeads, int dim, float[] q, float[] k, float[] v) {

    public Qkv {
        if (q.length != tokens * qHeads * dim || k.length != tokens * kvHeads * dim
                || v.length != tokens * kvHeads * dim) {
            throw new IllegalArgumentException("arrays do not match tokens " + tokens + ", heads " + qHeads + "/"
                    + kvHeads + ", dim " + dim);
        }
    }

    /** Tokens {@code [from, to)} of {@code q} as a tensor of {@code dtype} in {@code arena}. */
    public Tensor q(Arena arena, DType dtype, int from, int to) {
        return slice(arena, dtype, q, qHeads, from, to);
    }

    public Tensor k(Arena arena, DType dtype, int from, int to) {
        return slice(arena, dtype, k, kvHeads, from, to);
    }

    public Tensor v(Arena arena, DType dtype, int from, int to) {
        return slice(arena, dtype, v, kvHeads, from, to);
    }

    /** Tokens {@code [from, to)} of all three. */
    public Qkv slice(int from, int to) {
        return new Qkv(to - from, qHeads, kvHeads, dim, Arrays.copyOfRange(q, from * qHeads * dim, to * qHeads * dim),
                Arrays.copyOfRange(k, from * kvHeads * dim, to * kvHeads * dim),
                Arrays.copyOfRange(v, from * kvHeads * dim, to * kvHeads * dim));
    }

    /** The same data with every kv head repeated for each query head of its group, so that {@code kvHeads == qHeads}. */
    public Qkv repeatKv() {
        int group = qHeads / kvHeads;
        float[] k2 = new float[tokens * qHeads * dim];
        float[] v2 = new float[k2.length];
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < qHeads; h++) {
                int src = (t * kvHeads + h / group) * dim;
                int dst = (t * qHeads + h) * dim;
                System.arraycopy(k, src, k2, dst, dim);
                System.arraycopy(v, src, v2, dst, dim);
            }
        }
        return new Qkv(tokens, qHeads, qHeads, dim, q, k2, v2);
    }

    /** Each of q, k and v rounded to {@code dtype} and widened back to fp32. */
    public Qkv rounded(DType dtype) {
        return new Qkv(tokens, qHeads, kvHeads, dim, ReferenceMoba.rounded(q, dtype),
                ReferenceMoba.rounded(k, dtype), ReferenceMoba.rounded(v, dtype));
    }

    private Tensor slice(Arena arena, DType dtype, float[] x, int heads, int from, int to) {
        float[] part = Arrays.copyOfRange(x, from * heads * dim, to * heads * dim);
        return Tensor.of(arena, dtype, to - from, heads, dim, part);
    }
}
