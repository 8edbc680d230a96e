package dev.moba.testing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A direct, scalar implementation of {@code MOBA-SEMANTICS.md}, written for clarity rather than speed: the oracle
 * the engine's backends are tested against.
 *
 * <p>Tensors are row-major float arrays: {@code q} is {@code [tokens, qHeads, headDim]}, {@code k} and {@code v}
 * are {@code [tokens, kvHeads, headDim]}, and the output is shaped like {@code q}. A batch is described by
 * {@code cuSeqlens} as in varlen attention: sequence {@code s} is tokens {@code [cuSeqlens[s], cuSeqlens[s+1])}.
 *
 * <p>For each sequence, query position {@code t} and query head {@code h} (kv head {@code j = h / (qHeads /
 * kvHeads)}):
 * <ol>
 *   <li>block {@code i} covers positions {@code [i*B, min((i+1)*B, S))}; its summary is the fp32 mean of its keys;
 *   <li>the current block {@code c = t / B} is always selected; the candidates are the blocks {@code i < c}, scored
 *       by the unscaled fp32 dot product of {@code q[t][h]} with the summary; the {@code topK - 1} best are
 *       selected (all of them when there are fewer), the lower block index winning a tie;
 *   <li>the output is the softmax-weighted sum of the values of every selected key position {@code p <= t}, with
 *       scores {@code scale * dot(q[t][h], k[p][j])}, computed in double.
 * </ol>
 * The inputs are used as given: to model bf16 or fp16 storage, round them first ({@link #rounded}).
 */
public final class ReferenceMoba {

    /** A top-k that selects every earlier block: dense causal attention. */
    public static final int FULL = Integer.MAX_VALUE;

    private final int qHeads;
    private final int kvHeads;
    private final int headDim;
    private final int blockSize;
    private final int topK;
    private final float scale;

    /**
     * @param topK  blocks per query, the current one included; {@link #FULL} for dense causal attention
     * @param scale softmax scale
     */
    public ReferenceMoba(int qHeads, int kvHeads, int headDim, int blockSize, int topK, float scale) {
        if (qHeads < 1 || kvHeads < 1 || headDim < 1 || blockSize < 1 || topK < 1 || qHeads % kvHeads != 0) {
            throw new IllegalArgumentException("bad reference settings: qHeads " + qHeads + ", kvHeads " + kvHeads
                    + ", headDim " + headDim + ", blockSize " + blockSize + ", topK " + topK);
        }
        this.qHeads = qHeads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.blockSize = blockSize;
        this.topK = topK;
        this.scale = scale;
    }

    /** The same settings with the default scale {@code 1/sqrt(headDim)}. */
    public static ReferenceMoba withDefaultScale(int qHeads, int kvHeads, int headDim, int blockSize, int topK) {
        return new ReferenceMoba(qHeads, kvHeads, headDim, blockSize, topK, (float) (1.0 / Math.sqrt(headDim)));
    }

    /**
     * Attention output of the batch of sequences {@code cuSeqlens}; {@code topK} {@link #FULL} gives dense causal
     * attention.
     */
    public static float[] attention(float[] q, float[] k, float[] v, int[] cuSeqlens, int qHeads, int kvHeads,
                                    int headDim, int blockSize, int topK, float scale) {
        return new ReferenceMoba(qHeads, kvHeads, headDim, blockSize, topK, scale).run(q, k, v, cuSeqlens);
    }

    /** Attention output of a batch of sequences. */
    public float[] run(float[] q, float[] k, float[] v, int[] cuSeqlens) {
        int tokens = cuSeqlens[cuSeqlens.length - 1];
        requireLength("q", q, (long) tokens * qHeads * headDim);
        requireLength("k", k, (long) tokens * kvHeads * headDim);
        requireLength("v", v, (long) tokens * kvHeads * headDim);
        float[] out = new float[q.length];
        for (int s = 0; s + 1 < cuSeqlens.length; s++) {
            sequence(q, k, v, cuSeqlens[s], cuSeqlens[s + 1], out);
        }
        return out;
    }

    /** Attention output of one sequence holding every token of {@code q}, {@code k}, {@code v}. */
    public float[] run(float[] q, float[] k, float[] v) {
        return run(q, k, v, new int[] {0, q.length / (qHeads * headDim)});
    }

    /**
     * The blocks query {@code t} (position within the sequence starting at token {@code start}), head {@code h}
     * attends, ascending; the current block is the last.
     */
    public int[] selectedBlocks(float[] q, float[] k, int start, int t, int h) {
        int current = t / blockSize;
        float[][] means = blockMeans(k, start, current * blockSize);
        List<Integer> chosen = new ArrayList<>(history(q, means, start + t, h, current));
        chosen.sort(Comparator.naturalOrder());
        chosen.add(current);
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    /** {@code values}, each rounded to {@code dtype} and widened back. */
    public static float[] rounded(float[] values, dev.moba.tensor.DType dtype) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = dtype.round(values[i]);
        }
        return out;
    }

    private void sequence(float[] q, float[] k, float[] v, int start, int end, float[] out) {
        int length = end - start;
        float[][] means = blockMeans(k, start, length);
        int group = qHeads / kvHeads;
        double[] scores = new double[length];
        for (int t = 0; t < length; t++) {
            int current = t / blockSize;
            for (int h = 0; h < qHeads; h++) {
                int j = h / group;
                List<Integer> blocks = new ArrayList<>(history(q, means, start + t, h, current));
                blocks.add(current);
                List<Integer> positions = new ArrayList<>();
                for (int b : blocks) {
                    for (int p = b * blockSize; p < Math.min((b + 1) * blockSize, length) && p <= t; p++) {
                        positions.add(p);
                    }
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < positions.size(); i++) {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++) {
                        dot += (double) q(q, start + t, h, d) * kv(k, start + positions.get(i), j, d);
                    }
                    scores[i] = (double) scale * dot;
                    max = Math.max(max, scores[i]);
                }
                double sum = 0;
                for (int i = 0; i < positions.size(); i++) {
                    scores[i] = Math.exp(scores[i] - max);
                    sum += scores[i];
                }
                for (int d = 0; d < headDim; d++) {
                    double acc = 0;
                    for (int i = 0; i < positions.size(); i++) {
                        acc += scores[i] * kv(v, start + positions.get(i), j, d);
                    }
                    out[((start + t) * qHeads + h) * headDim + d] = (float) (acc / sum);
                }
            }
        }
    }

    /** Mean keys of the complete or partial blocks covering the first {@code length} positions. */
    private float[][] blockMeans(float[] k, int start, int length) {
        int blocks = (length + blockSize - 1) / blockSize;
        float[][] means = new float[blocks][kvHeads * headDim];
        for (int b = 0; b < blocks; b++) {
            int from = b * blockSize;
            int to = Math.min(from + blockSize, length);
            for (int j = 0; j < kvHeads; j++) {
                for (int d = 0; d < headDim; d++) {
                    double sum = 0;
                    for (int p = from; p < to; p++) {
                        sum += kv(k, start + p, j, d);
                    }
                    means[b][j * headDim + d] = (float) (sum / (to - from));
                }
            }
        }
        return means;
    }

    /** The selected earlier blocks of the query at absolute token {@code token}, head {@code h}. */
    private List<Integer> history(float[] q, float[][] means, int token, int h, int current) {
        int j = h / (qHeads / kvHeads);
        float[] score = new float[current];
        List<Integer> candidates = new ArrayList<>();
        for (int i = 0; i < current; i++) {
            // fp32 as the contract requires; fused multiply-add in ascending d, the order a plain fp32 kernel uses,
            // so that scores a few ulps apart rank the same here as in such a kernel.
            float s = 0f;
            for (int d = 0; d < headDim; d++) {
                s = Math.fma(q(q, token, h, d), means[i][j * headDim + d], s);
            }
            score[i] = s;
            candidates.add(i);
        }
        candidates.sort((a, b) -> score[a] != score[b] ? Float.compare(score[b], score[a]) : Integer.compare(a, b));
        long picks = Math.min((long) topK - 1, current);
        return candidates.subList(0, (int) picks);
    }

    private float q(float[] q, int token, int h, int d) {
        return q[(token * qHeads + h) * headDim + d];
    }

    private float kv(float[] x, int token, int j, int d) {
        return x[(token * kvHeads + j) * headDim + d];
    }

    private static void requireLength(String name, float[] x, long expected) {
        if (x.length != expected) {
            throw new IllegalArgumentException(name + " holds " + x.length + " values, expected " + expected);
        }
    }
}
