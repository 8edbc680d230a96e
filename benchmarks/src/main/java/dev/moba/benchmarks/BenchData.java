package dev.moba.benchmarks;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Random inputs for the benchmarks: standard normal fp32 tensors from a seeded generator. */
final class BenchData {

    private BenchData() {}

    /** A {@code [tokens, heads, dim]} tensor of standard normal values in {@code arena}. */
    static Tensor normal(Arena arena, SplittableRandom random, int tokens, int heads, int dim) {
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
