package dev.moba.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.tensor.DType;
import dev.moba.verify.GoldenCase;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ReferenceMobaTest {

    static ReferenceMoba referenceFor(GoldenCase c) {
        return new ReferenceMoba(c.layout().qHeads(), c.layout().kvHeads(), c.layout().headDim(), c.blockSize(),
                c.topK(), c.scale());
    }

    @ParameterizedTest
    @MethodSource("dev.moba.testing.GoldenCases#names")
    void reproducesGoldenFp32Output(String name) {
        try (Arena arena = Arena.ofConfined()) {
            GoldenCase c = GoldenCases.load(name, DType.FP32, arena);
            float[] out = referenceFor(c).run(c.q().toFloatArray(), c.k().toFloatArray(), c.v().toFloatArray(),
                    c.cuSeqlens());
            assertThat(Errors.maxAbs(out, c.expected().toFloatArray())).isLessThanOrEqualTo(1e-5);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.moba.testing.GoldenCases#names")
    void reproducesGoldenOutputsOnRoundedInputs(String name) {
        for (DType dtype : new DType[] {DType.BF16, DType.FP16}) {
            try (Arena arena = Arena.ofConfined()) {
                GoldenCase c = GoldenCases.load(name, dtype, arena);
                float[] out = referenceFor(c).run(ReferenceMoba.rounded(c.q().toFloatArray(), dtype),
                        ReferenceMoba.rounded(c.k().toFloatArray(), dtype),
                        ReferenceMoba.rounded(c.v().toFloatArray(), dtype), c.cuSeqlens());
                assertThat(Errors.maxAbs(out, c.expected().toFloatArray())).as(dtype.toString())
                        .isLessThanOrEqualTo(1e-5);
            }
        }
    }

    @Test
    void singleTokenOutputIsItsValue() {
        float[] q = {0.5f, -1f};
        float[] k = {2f, 3f};
        float[] v = {7f, -4f};
        float[] out = new ReferenceMoba(1, 1, 2, 4, 1, 1f).run(q, k, v);
        assertThat(out).containsExactly(7f, -4f);
    }

    @Test
    void twoTokensDenseIsSoftmaxWeightedByHand() {
        // Token 1 attends keys 0 and 1 with scores 1*1 = 1 and 1*3 = 3 (dim 1, scale 1):
        // weights e^1 / (e^1 + e^3) and e^3 / (e^1 + e^3) on values 10 and 20.
        float[] q = {5f, 1f};
        float[] k = {1f, 3f};
        float[] v = {10f, 20f};
        float[] out = new ReferenceMoba(1, 1, 1, 1, ReferenceMoba.FULL, 1f).run(q, k, v);
        double w0 = Math.exp(1) / (Math.exp(1) + Math.exp(3));
        assertThat(out[0]).isEqualTo(10f);
        assertThat((double) out[1]).isCloseTo(w0 * 10 + (1 - w0) * 20, org.assertj.core.data.Offset.offset(1e-5));
    }

    @Test
    void topOneWithBlockOfOneAttendsOnlyItself() {
        float[] q = new RandomTensors(1).normal(6, 2, 3);
        float[] k = new RandomTensors(2).normal(6, 1, 3);
        float[] v = new RandomTensors(3).normal(6, 1, 3);
        float[] out = new ReferenceMoba(2, 1, 3, 1, 1, 0.3f).run(q, k, v);
        for (int t = 0; t < 6; t++) {
            for (int h = 0; h < 2; h++) {
                for (int d = 0; d < 3; d++) {
                    assertThat(out[(t * 2 + h) * 3 + d]).isEqualTo(v[t * 3 + d]);
                }
            }
        }
    }

    @Test
    void selectsHighestScoringEarlierBlocksAndBreaksTiesTowardsLowerIndex() {
        // dim 1, blocks of 2: block means are 1, 5, 5, -2, then the current block 4 (positions 8 and 9).
        float[] k = {0, 2, 5, 5, 4, 6, -2, -2, 0, 0};
        float[] q = new float[10];
        q[9] = 1f; // scores equal the means
        ReferenceMoba top3 = new ReferenceMoba(1, 1, 1, 2, 3, 1f);
        assertThat(top3.selectedBlocks(q, k, 0, 9, 0)).containsExactly(1, 2, 4);
        ReferenceMoba top2 = new ReferenceMoba(1, 1, 1, 2, 2, 1f);
        assertThat(top2.selectedBlocks(q, k, 0, 9, 0)).containsExactly(1, 4);
        q[9] = -1f;
        assertThat(top2.selectedBlocks(q, k, 0, 9, 0)).containsExactly(3, 4);
        // Fewer candidates than picks: all of them.
        assertThat(new ReferenceMoba(1, 1, 1, 2, 8, 1f).selectedBlocks(q, k, 0, 5, 0)).containsExactly(0, 1, 2);
    }

    @Test
    void sequencesOfABatchAreIndependent() {
        RandomTensors random = new RandomTensors(9);
        Qkv a = random.qkv(7, 2, 2, 4);
        Qkv b = random.qkv(5, 2, 2, 4);
        ReferenceMoba reference = new ReferenceMoba(2, 2, 4, 3, 2, 0.5f);
        float[] q = concat(a.q(), b.q());
        float[] k = concat(a.k(), b.k());
        float[] v = concat(a.v(), b.v());
        float[] both = reference.run(q, k, v, new int[] {0, 7, 12});
        assertThat(both).startsWith(reference.run(a.q(), a.k(), a.v()));
        assertThat(java.util.Arrays.copyOfRange(both, a.q().length, both.length))
                .containsExactly(reference.run(b.q(), b.k(), b.v()));
    }

    @Test
    void rejectsInconsistentSettings() {
        assertThatThrownBy(() -> new ReferenceMoba(3, 2, 4, 4, 1, 1f)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ReferenceMoba(2, 2, 4, 4, 1, 1f).run(new float[8], new float[8], new float[7]))
                .hasMessageContaining("v holds 7 values");
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
