package dev.moba.plan;

import dev.moba.config.HeadLayout;
import dev.moba.gating.Selection;
import java.util.ArrayList;
import java.util.List;

/**
 * Inverts a per-query block selection into per-block query lists: for each kv head and block, the rows of the
 * head's query group that read it, plus the causal work of each query's current block. Costs
 * {@code O(rows * picks + blocks)} time and the same in memory.
 */
public final class Planner {

    private Planner() {}

    /**
     * Plans a chunk of {@code tokens} queries starting at {@code firstPosition}.
     *
     * @param selection the gated history blocks, or {@code null} for full attention (every earlier block)
     */
    public static List<List<BlockTask>> plan(Selection selection, int firstPosition, int tokens, int blockSize,
                                             HeadLayout layout) {
        if (tokens == 0) {
            return emptyPlan(layout.kvHeads());
        }
        int firstBlock = firstPosition / blockSize;
        int lastBlock = (firstPosition + tokens - 1) / blockSize;
        List<List<BlockTask>> byHead = new ArrayList<>(layout.kvHeads());
        for (int j = 0; j < layout.kvHeads(); j++) {
            List<BlockTask> tasks = new ArrayList<>();
            historyTasks(selection, firstPosition, tokens, blockSize, layout, j, lastBlock, tasks);
            for (int b = firstBlock; b <= lastBlock; b++) {
                tasks.add(new BlockTask(b, currentBlockRows(b, firstPosition, tokens, blockSize, layout, j), true));
            }
            byHead.add(List.copyOf(tasks));
        }
        return List.copyOf(byHead);
    }

    private static List<List<BlockTask>> emptyPlan(int kvHeads) {
        List<List<BlockTask>> byHead = new ArrayList<>(kvHeads);
        for (int j = 0; j < kvHeads; j++) {
            byHead.add(List.of());
        }
        return List.copyOf(byHead);
    }

    private static void historyTasks(Selection selection, int firstPosition, int tokens, int blockSize,
                                     HeadLayout layout, int kvHead, int lastBlock, List<BlockTask> out) {
        int[] counts = new int[lastBlock];
        forEachHistoryPick(selection, firstPosition, tokens, blockSize, layout, kvHead,
                (row, block) -> counts[block]++);
        int[][] rows = new int[lastBlock][];
        for (int b = 0; b < lastBlock; b++) {
            rows[b] = new int[counts[b]];
        }
        int[] filled = new int[lastBlock];
        forEachHistoryPick(selection, firstPosition, tokens, blockSize, layout, kvHead,
                (row, block) -> rows[block][filled[block]++] = row);
        for (int b = 0; b < lastBlock; b++) {
            if (rows[b].length > 0) {
                out.add(new BlockTask(b, rows[b], false));
            }
        }
    }

    /** Visits rows in ascending order, so every block's row list comes out sorted. */
    private static void forEachHistoryPick(Selection selection, int firstPosition, int tokens, int blockSize,
                                           HeadLayout layout, int kvHead, PickVisitor visitor) {
        int group = layout.groupSize();
        for (int t = 0; t < tokens; t++) {
            int current = (firstPosition + t) / blockSize;
            for (int h = kvHead * group; h < (kvHead + 1) * group; h++) {
                int row = t * layout.qHeads() + h;
                if (selection == null) {
                    for (int b = 0; b < current; b++) {
                        visitor.visit(row, b);
                    }
                    continue;
                }
                for (int s = 0; s < selection.picks(); s++) {
                    int b = selection.block(row, s);
                    if (b >= 0) {
                        visitor.visit(row, b);
                    }
                }
            }
        }
    }

    private static int[] currentBlockRows(int block, int firstPosition, int tokens, int blockSize,
                                          HeadLayout layout, int kvHead) {
        int from = Math.max(firstPosition, block * blockSize) - firstPosition;
        int to = Math.min(firstPosition + tokens, (block + 1) * blockSize) - firstPosition;
        int group = layout.groupSize();
        int[] rows = new int[(to - from) * group];
        int i = 0;
        for (int t = from; t < to; t++) {
            for (int h = kvHead * group; h < (kvHead + 1) * group; h++) {
                rows[i++] = t * layout.qHeads() + h;
            }
        }
        return rows;
    }

    @FunctionalInterface
    private interface PickVisitor {
        void visit(int row, int block);
    }
}
