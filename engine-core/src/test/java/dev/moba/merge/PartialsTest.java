package dev.moba.merge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.moba.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PartialsTest {

    private static final int ROWS = 5;
    private static final int KEYS = 40;
    private static final int DIM = 7;
    private static final float SCALE = 0.4f;

    private final float[] q = new RandomTensors(1).normal(ROWS * DIM);
    private final float[] k = new RandomTensors(2).normal(KEYS * DIM);
    private final float[] v = new RandomTensors(3).normal(KEYS * DIM);

    /** Attention of every row over the keys where {@code part[key]} is true, computed in double. */
    private Partials attend(Arena arena, boolean[] part) {
        Partials p = Partials.empty(arena, ROWS, DIM);
        for (int r = 0; r < ROWS; r++) {
            double max = Double.NEGATIVE_INFINITY;
            double[] s = new double[KEYS];
            for (int key = 0; key < KEYS; key++) {
                if (!part[key]) continue;
                double dot = 0;
                for (int d = 0; d < DIM; d++) {
                    dot += (double) q[r * DIM + d] * k[key * DIM + d];
                }
                s[key] = SCALE * dot;
                max = Math.max(max, s[key]);
            }
            if (max == Double.NEGATIVE_INFINITY) {
                continue; // no keys: stays empty
            }
            double sum = 0;
            double[] o = new double[DIM];
            for (int key = 0; key < KEYS; key++) {
                if (!part[key]) continue;
                double w = Math.exp(s[key] - max);
                sum += w;
                for (int d = 0; d < DIM; d++) {
                    o[d] += w * v[key * DIM + d];
                }
            }
            for (int d = 0; d < DIM; d++) {
                p.output().setAtIndex(ValueLayout.JAVA_FLOAT, (long) r * DIM + d, (float) (o[d] / sum));
            }
            p.setLse(r, (float) (max + Math.log(sum)));
        }
        return p;
    }

    @Test
    void mergingTwoDisjointPartsGivesTheWhole() {
        Random random = new Random(11);
        try (Arena arena = Arena.ofConfined()) {
            boolean[] all = new boolean[KEYS];
            java.util.Arrays.fill(all, true);
            Partials whole = attend(arena, all);
            for (int trial = 0; trial < 20; trial++) {
                boolean[] a = new boolean[KEYS];
                boolean[] b = new boolean[KEYS];
                for (int key = 0; key < KEYS; key++) {
                    a[key] = random.nextBoolean();
                    b[key] = !a[key];
                }
                Partials merged = attend(arena, a);
                merged.mergeFrom(attend(arena, b));
                for (int r = 0; r < ROWS; r++) {
                    assertThat(merged.lse(r)).isCloseTo(whole.lse(r), within(1e-5f));
                    for (int d = 0; d < DIM; d++) {
                        assertThat(merged.output(r, d)).isCloseTo(whole.output(r, d), within(1e-6f));
                    }
                }
            }
        }
    }

    @Test
    void aPartWithNoKeysContributesNothing() {
        try (Arena arena = Arena.ofConfined()) {
            boolean[] some = new boolean[KEYS];
            for (int key = 0; key < KEYS; key += 3) some[key] = true;
            Partials part = attend(arena, some);
            float[] before = part.output().toArray(ValueLayout.JAVA_FLOAT);

            part.mergeFrom(Partials.empty(arena, ROWS, DIM));
            assertThat(part.output().toArray(ValueLayout.JAVA_FLOAT)).containsExactly(before);

            Partials empty = Partials.empty(arena, ROWS, DIM);
            empty.mergeFrom(part);
            assertThat(empty.output().toArray(ValueLayout.JAVA_FLOAT)).containsExactly(before);
            for (int r = 0; r < ROWS; r++) {
                assertThat(empty.lse(r)).isEqualTo(part.lse(r));
            }
        }
    }

    @Test
    void twoEmptyPartsStayEmpty() {
        try (Arena arena = Arena.ofConfined()) {
            Partials a = Partials.empty(arena, 2, 3);
            a.mergeFrom(Partials.empty(arena, 2, 3));
            assertThat(a.lse(0)).isEqualTo(Float.NEGATIVE_INFINITY);
            assertThat(a.output().toArray(ValueLayout.JAVA_FLOAT)).containsOnly(0f);
        }
    }

    @Test
    void mergeWeighsByLogSumExpByHand() {
        // Part A: one key with score 0 and value 1 (lse 0); part B: one key with score ln 3 and value 5 (lse ln 3).
        // Whole: weights 1/4 and 3/4, output 1/4 + 15/4 = 4, lse ln 4.
        try (Arena arena = Arena.ofConfined()) {
            Partials a = new Partials(arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f), new float[] {0f}, 1);
            Partials b = new Partials(arena.allocateFrom(ValueLayout.JAVA_FLOAT, 5f),
                    new float[] {(float) Math.log(3)}, 1);
            a.mergeFrom(b);
            assertThat(a.output(0, 0)).isCloseTo(4f, within(1e-6f));
            assertThat(a.lse(0)).isCloseTo((float) Math.log(4), within(1e-6f));
        }
    }

    @Test
    void logAddExp() {
        float inf = Float.NEGATIVE_INFINITY;
        assertThat(OnlineSoftmax.logAddExp(inf, inf)).isEqualTo(inf);
        assertThat(OnlineSoftmax.logAddExp(inf, 3f)).isEqualTo(3f);
        assertThat(OnlineSoftmax.logAddExp(3f, inf)).isEqualTo(3f);
        assertThat(OnlineSoftmax.logAddExp(0f, 0f)).isCloseTo((float) Math.log(2), within(1e-7f));
        assertThat(OnlineSoftmax.logAddExp(1000f, 1000f)).isCloseTo(1000f + (float) Math.log(2), within(1e-4f));
        assertThat(OnlineSoftmax.logAddExp(-1000f, -1001f))
                .isCloseTo((float) (-1000 + Math.log1p(Math.exp(-1))), within(1e-4f));
    }

    @Test
    void rejectsMismatchedShapes() {
        try (Arena arena = Arena.ofConfined()) {
            Partials a = Partials.empty(arena, 2, 3);
            assertThatThrownBy(() -> a.mergeFrom(Partials.empty(arena, 3, 3)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3x3 into 2x3");
            assertThatThrownBy(() -> a.mergeFrom(Partials.empty(arena, 2, 4)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2x4 into 2x3");
            MemorySegment small = arena.allocate(8);
            assertThatThrownBy(() -> new Partials(small, new float[2], 3))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("8 bytes for 2 rows of 3");
        }
    }
}
