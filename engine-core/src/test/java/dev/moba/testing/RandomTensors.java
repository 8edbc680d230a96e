package dev.moba.testing;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;

/**
 * Seeded standard-normal test data. The same seed gives the same values on every JVM ({@link Random} specifies
 * its algorithm), so a failing case can be replayed from its seed.
 */
public final class RandomTensors {

    private final Random random;

    public RandomTensors(long seed) {
        this.random = new Random(seed);
    }

    /** {@code count} values drawn from N(0, 1). */
    public float[] normal(int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    /** A {@code [tokens, heads, dim]} array drawn from N(0, 1). */
    public float[] normal(int tokens, int heads, int dim) {
        return normal(Math.multiplyExact(Math.multiplyExact(tokens, heads), dim));
    }

    /** q {@code [tokens, qHeads, dim]}, k and v {@code [tokens, kvHeads, dim]}, drawn in that order. */
    public Qkv qkv(int tokens, int qHeads, int kvHeads, int dim) {
        float[] q = normal(tokens, qHeads, dim);
        float[] k = normal(tokens, kvHeads, dim);
        float[] v = normal(tokens, kvHeads, dim);
        return new Qkv(tokens, qHeads, kvHeads, dim, q, k, v);
    }

    /** A fp32 {@code [tokens, heads, dim]} tensor in {@code arena} drawn from N(0, 1). */
    public Tensor tensor(Arena arena, int tokens, int heads, int dim) {
        return Tensor.of(arena, DType.FP32, tokens, heads, dim, normal(tokens, heads, dim));
    }
}
