package dev.moba.backend.java;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/** The softmax's exponential against {@link Math#exp} in double, over the range a softmax feeds it and past it. */
class VectorExpTest {

    /** The error bound the class promises, in units in the last place of the exact result. */
    private static final float ULPS = 1.5f;

    @Test
    void withinOneAndAHalfUlpOverTheSoftmaxRange() {
        SplittableRandom random = new SplittableRandom(7);
        float[] x = new float[MatMul.LANES];
        double worst = 0;
        for (int round = 0; round < 200_000 / MatMul.LANES; round++) {
            for (int i = 0; i < x.length; i++) {
                // Every octave of magnitude alike: most of a softmax's arguments are small, a few are large.
                x[i] = (float) -Math.scalb(random.nextDouble(1, 2), random.nextInt(-30, 7));
            }
            x[0] = Math.max(x[0], -86.5f);
            float[] y = VectorExp.exp(FloatVector.fromArray(MatMul.SPECIES, x, 0)).toArray();
            for (int i = 0; i < x.length; i++) {
                if (x[i] < -86.5f) {
                    continue;
                }
                double exact = Math.exp(x[i]);
                worst = Math.max(worst, Math.abs(y[i] - exact) / Math.ulp((float) exact));
            }
        }
        assertThat(worst).isLessThanOrEqualTo(ULPS);
    }

    @Test
    void exactAtZeroAndCloseAcrossTheTopOfTheRange() {
        float[] x = {0f, -0f, 1e-7f, -1e-7f, 0.3465f, -0.3466f, 0.5f, -1f};
        float[] y = exp(x);
        assertThat(y[0]).isEqualTo(1f);
        assertThat(y[1]).isEqualTo(1f);
        for (int i = 2; i < x.length; i++) {
            float exact = (float) Math.exp(x[i]);
            assertThat(y[i]).as("e^%s", x[i]).isCloseTo(exact, Offset.offset(ULPS * Math.ulp(exact)));
        }
    }

    @Test
    void flushesToZeroBelowTheNormalRangeAndKeepsNaN() {
        float[] y = exp(Float.NEGATIVE_INFINITY, -86.6f, -88f, -100f, -1e30f, -Float.MAX_VALUE, Float.NaN, -86.4f);
        for (int i = 0; i < 6; i++) {
            assertThat(y[i]).isZero();
        }
        assertThat(y[6]).isNaN();
        float exact = (float) Math.exp(-86.4f);
        assertThat(y[7]).isCloseTo(exact, Offset.offset(ULPS * Math.ulp(exact)))
                .isGreaterThanOrEqualTo(Float.MIN_NORMAL);
    }

    /** {@code e^x} of each value, a vector at a time whatever the vector length. */
    private static float[] exp(float... x) {
        float[] y = new float[x.length];
        float[] lanes = new float[MatMul.LANES];
        for (int i = 0; i < x.length; i += lanes.length) {
            int n = Math.min(lanes.length, x.length - i);
            System.arraycopy(x, i, lanes, 0, n);
            float[] e = VectorExp.exp(FloatVector.fromArray(MatMul.SPECIES, lanes, 0)).toArray();
            System.arraycopy(e, 0, y, i, n);
        }
        return y;
    }
}
