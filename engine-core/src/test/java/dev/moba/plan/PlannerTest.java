package dev.moba.plan;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.config.HeadLayout;
import dev.moba.gating.Selection;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlannerTest {

    @Test
    void smallPlanByHand() {
        // Positions 3..6 with blocks of 2: tokens 0 (pos 3, block 1), 1..2 (block 2), 3 (pos 6, block 3).
        // One query head, one pick each: token 0 picks block 0, token 1 none, token 2 block 1, token 3 block 0.
        HeadLayout layout = new HeadLayout(1, 1, 8);
        Selection selection = new Selection(4, 1, new int[] {0, -1, 1, 0});
        List<List<BlockTask>> plan = Planner.plan(selection, 3, 4, 2, layout);
        assertThat(plan).hasSize(1);
        List<String> tasks = plan.getFirst().stream()
                .map(t -> t.block() + (t.causal() ? "c" : "h") + Arrays.toString(t.rows())).toList();
        assertThat(tasks).containsExactlyInAnyOrder("0h[0, 3]", "1h[2]", "1c[0]", "2c[1, 2]", "3c[3]");
    }

    @Test
    void fullAttentionReadsEveryEarlierBlock() {
        HeadLayout layout = new HeadLayout(2, 1, 4);
        List<List<BlockTask>> plan = Planner.plan(null, 4, 2, 2, layout); // positions 4, 5: block 2
        List<String> tasks = plan.getFirst().stream()
                .map(t -> t.block() + (t.causal() ? "c" : "h") + Arrays.toString(t.rows())).toList();
        assertThat(tasks).containsExactlyInAnyOrder("0h[0, 1, 2, 3]", "1h[0, 1, 2, 3]", "2c[0, 1, 2, 3]");
    }

    @Test
    void emptyChunkHasNoTasks() {
        List<List<BlockTask>> plan = Planner.plan(new Selection(0, 2, new int[0]), 10, 0, 4, new HeadLayout(4, 2, 8));
        assertThat(plan).hasSize(2).allSatisfy(tasks -> assertThat(tasks).isEmpty());
    }

    @Test
    void randomSelectionsAreInvertedExactly() {
        Random random = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            int kvHeads = 1 + random.nextInt(3);
            HeadLayout layout = new HeadLayout(kvHeads * (1 + random.nextInt(3)), kvHeads, 4);
            int blockSize = 1 + random.nextInt(6);
            int first = random.nextInt(40);
            int tokens = 1 + random.nextInt(30);
            int picks = random.nextInt(4);
            Selection selection = randomSelection(random, layout, first, tokens, blockSize, picks);
            boolean full = random.nextInt(5) == 0;
            List<List<BlockTask>> plan = Planner.plan(full ? null : selection, first, tokens, blockSize, layout);
            check(plan, full ? null : selection, first, tokens, blockSize, layout);
        }
    }

    private static Selection randomSelection(Random random, HeadLayout layout, int first, int tokens, int blockSize,
                                             int picks) {
        int rows = tokens * layout.qHeads();
        int[] blocks = new int[rows * picks];
        for (int row = 0; row < rows; row++) {
            int candidates = (first + row / layout.qHeads()) / blockSize;
            List<Integer> all = new ArrayList<>();
            for (int b = 0; b < candidates; b++) {
                all.add(b);
            }
            java.util.Collections.shuffle(all, random);
            List<Integer> chosen = new ArrayList<>(all.subList(0, Math.min(picks, candidates)));
            chosen.sort(null);
            for (int s = 0; s < picks; s++) {
                blocks[row * picks + s] = s < chosen.size() ? chosen.get(s) : -1;
            }
        }
        return new Selection(rows, picks, blocks);
    }

    private static void check(List<List<BlockTask>> plan, Selection selection, int first, int tokens, int blockSize,
                              HeadLayout layout) {
        assertThat(plan).hasSize(layout.kvHeads());
        Set<String> seenHistory = new HashSet<>();
        Set<Integer> seenCausal = new HashSet<>();
        for (int j = 0; j < layout.kvHeads(); j++) {
            for (BlockTask task : plan.get(j)) {
                int[] rows = task.rows();
                assertThat(rows).isNotEmpty().isSorted();
                for (int row : rows) {
                    assertThat(layout.kvHeadOf(row % layout.qHeads())).as("row %d in kv head %d", row, j).isEqualTo(j);
                    int current = (first + row / layout.qHeads()) / blockSize;
                    if (task.causal()) {
                        assertThat(task.block()).isEqualTo(current);
                        assertThat(seenCausal.add(row)).as("causal row %d twice", row).isTrue();
                    } else {
                        assertThat(task.block()).isLessThan(current);
                        assertThat(seenHistory.add(row + "@" + task.block())).as("row %d block %d twice", row,
                                task.block()).isTrue();
                    }
                }
            }
        }
        Set<String> expectedHistory = new HashSet<>();
        for (int row = 0; row < tokens * layout.qHeads(); row++) {
            int current = (first + row / layout.qHeads()) / blockSize;
            if (selection == null) {
                for (int b = 0; b < current; b++) {
                    expectedHistory.add(row + "@" + b);
                }
            } else {
                for (int s = 0; s < selection.picks(); s++) {
                    if (selection.block(row, s) >= 0) {
                        expectedHistory.add(row + "@" + selection.block(row, s));
                    }
                }
            }
        }
        assertThat(seenHistory).isEqualTo(expectedHistory);
        assertThat(seenCausal).hasSize(tokens * layout.qHeads());
    }
}
