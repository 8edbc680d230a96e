package dev.moba.gating;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TopKTest {

    private static int[] select(float[] scores, int picks) {
        int[] out = new int[picks];
        TopK.select(scores, 0, scores.length, picks, out, 0, new float[picks]);
        return out;
    }

    @Test
    void picksTheLargestScoresInAscendingBlockOrder() {
        assertThat(select(new float[] {5, 1, 9, 7}, 3)).containsExactly(0, 2, 3);
        assertThat(select(new float[] {5, 1, 9, 7}, 1)).containsExactly(2);
        assertThat(select(new float[] {-3, -1, -2}, 2)).containsExactly(1, 2);
    }

    @Test
    void equalScoresKeepTheLowerIndex() {
        assertThat(select(new float[] {1, 3, 3, 2, 3}, 2)).containsExactly(1, 2);
        assertThat(select(new float[] {1, 3, 3, 2, 3}, 1)).containsExactly(1);
        assertThat(select(new float[] {4, 4, 4, 4, 4, 4}, 3)).containsExactly(0, 1, 2);
        assertThat(select(new float[] {0, 2, 1, 2}, 1)).containsExactly(1);
    }

    @Test
    void fewerCandidatesThanPicksSelectsAllThenPadsWithMinusOne() {
        int[] out = new int[4];
        TopK.select(new float[] {3, 9}, 0, 2, 4, out, 0, new float[4]);
        assertThat(out).containsExactly(0, 1, -1, -1);
        TopK.select(new float[] {}, 0, 0, 4, out, 0, new float[4]);
        assertThat(out).containsExactly(-1, -1, -1, -1);
        assertThat(select(new float[] {2, 1, 3}, 3)).containsExactly(0, 1, 2);
    }

    @Test
    void readsAndWritesOnlyItsWindow() {
        float[] scores = {100, 100, 1, 5, 3, 100};
        int[] out = {7, 7, 7, 7, 7};
        TopK.select(scores, 2, 3, 2, out, 1, new float[2]);
        assertThat(out).containsExactly(7, 1, 2, 7, 7); // candidates 0..2 are scores 1, 5, 3
    }

    @Test
    void agreesWithSortingOnRandomScores() {
        Random random = new Random(42);
        for (int trial = 0; trial < 500; trial++) {
            int candidates = random.nextInt(40);
            int picks = 1 + random.nextInt(8);
            float[] scores = new float[candidates];
            for (int i = 0; i < candidates; i++) {
                // Few distinct values, so that ties are common.
                scores[i] = random.nextInt(6) - 3;
            }
            int[] expected = IntStream.range(0, candidates).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparing(i -> i))
                    .limit(picks).mapToInt(Integer::intValue).sorted().toArray();
            int[] padded = Arrays.copyOf(expected, picks);
            Arrays.fill(padded, expected.length, picks, -1);
            assertThat(select(scores, picks)).as("scores %s, picks %d", Arrays.toString(scores), picks)
                    .containsExactly(padded);
        }
    }

    @Test
    void fewPicksOverLongWindowsAgreeWithSortingAndLeaveTheScoresAsTheyWere() {
        Random random = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            int candidates = 1 + random.nextInt(200);
            int picks = 1 + random.nextInt(4);
            int from = random.nextInt(20);
            float[] scores = new float[from + candidates + 20];
            Arrays.fill(scores, 1e9f);  // outside the window: larger than any score inside
            for (int i = 0; i < candidates; i++) {
                scores[from + i] = trial % 2 == 0 ? random.nextInt(5) : (float) random.nextGaussian();
            }
            float[] before = scores.clone();
            int[] expected = IntStream.range(0, candidates).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> -scores[from + i]).thenComparing(i -> i))
                    .limit(picks).mapToInt(Integer::intValue).sorted().toArray();
            int[] padded = Arrays.copyOf(expected, picks);
            Arrays.fill(padded, expected.length, picks, -1);
            int[] out = new int[picks];
            TopK.select(scores, from, candidates, picks, out, 0, new float[picks]);
            assertThat(out).as("trial %d", trial).containsExactly(padded);
            assertThat(scores).containsExactly(before);
        }
    }

    @Test
    void minusInfiniteScoresArePickedByIndexWhenNothingBetterIsLeft() {
        float ninf = Float.NEGATIVE_INFINITY;
        assertThat(select(new float[] {ninf, ninf, 3}, 2)).containsExactly(0, 2);
        assertThat(select(new float[] {ninf, 1, ninf, ninf}, 3)).containsExactly(0, 1, 2);
    }
}
