package dev.moba.benchmarks;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Random inputs for the benchmarks: standard normal fp32 queries, keys and values from a seeded generator.
 *
 * @param q {@code [tokens, qHeads, dim]}
 * @param k {@code [tokens, kvHeads, dim]}
 * @param v {@code [tokens, kvHeads, dim]}
 */
record BenchData(Tensor q, Tensor k, Tensor v) {

    /** Inputs of {@code tokens} tokens in {@code arena}. */
    static BenchData normal(Arena arena, long seed, int tokens, int qHeads, int kvHeads, int dim) {
        SplittableRandom random = new SplittableRandom(seed);
        return new BenchData(normal(arena, random, tokens, qHeads, dim), normal(arena, random, tokens, kvHeads, dim),
                normal(arena, random, tokens, kvHeads, dim));
    }

    /** Tokens {@code [from, to)}, sharing memory with these. */
    BenchData slice(int from, int to) {
        return new BenchData(q.slice(from, to), k.slice(from, to), v.slice(from, to));
    }

    /** A {@code [tokens, heads, dim]} tensor of standard normal values in {@code arena}. */
    private static Tensor normal(Arena arena, SplittableRandom random, int tokens, int heads, int dim) {
        Tensor t = Tensor.allocate(arena, DType.FP32, tokens, heads, dim);
        for (long i = 0; i < t.size(); i++) {
            t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) gaussian(random));
        }
        return t;
    }

    private static double gaussian(SplittableRandom random) {
        double u = random.nextDouble(Double.MIN_VALUE, 1.0);
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }
}
