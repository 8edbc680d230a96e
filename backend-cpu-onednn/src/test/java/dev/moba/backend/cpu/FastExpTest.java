package dev.moba.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class FastExpTest {

    @Test
    void matchesTheLibraryExpWithinTwoUlpsOfRelativeErrorOverTheSoftmaxRange() {
        int lanes = FastExp.SPECIES.length();
        float[] x = new float[lanes * 20_000];
        for (int i = 0; i < x.length; i++) {
            x[i] = -90f * i / (x.length - 1);
        }
        x[0] = 0f;
        x[1] = -Float.MIN_VALUE;
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += lanes) {
            FastExp.exp(FloatVector.fromArray(FastExp.SPECIES, x, i)).intoArray(y, i);
        }
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            double expected = Math.exp(Math.max(x[i], -87f));
            worst = Math.max(worst, Math.abs(y[i] - expected) / expected);
        }
        assertThat(worst).isLessThan(2.5e-7);
        assertThat(y[0]).isEqualTo(1f);
    }
}
