package dev.moba.backend.cuda;

import dev.moba.plan.AttendPlan;
import dev.moba.plan.BlockTask;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A plan flattened for the device: one list per block task ({@code struct TileList}: block, kv head, causal, first
 * entry, count, first tile) and one entry per (query row, block) pair. Each row numbers the blocks it reads, its
 * slots, so every entry writes its own partial and the merge finds them. The tensor-core kernel reads the lists and
 * {@code int2 {row, slot}} entries; the fp32 kernel reads {@code int4 {row, block, keys, slot}} entries, where
 * {@code keys} is how many of the block's keys the row sees. Costs one pass over the plan's rows.
 *
 * @param lists      {@link CudaKernels#LIST_INTS} ints per list
 * @param tileStarts first tile of each list, then the total
 * @param pairs      {@code int2} entries
 * @param quads      {@code int4} entries
 * @param listCount  lists
 * @param count      entries
 * @param tiles      tiles of {@link CudaKernels#TILE_ROWS} rows over all lists
 * @param slots      the most blocks any row reads (at least 1)
 */
record PlanLists(MemorySegment lists, MemorySegment tileStarts, MemorySegment pairs, MemorySegment quads,
                 int listCount, int count, long tiles, int slots) {

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;

    static PlanLists of(AttendPlan plan, Arena arena) {
        int qHeads = plan.layout().qHeads();
        int blockSize = plan.cache().spec().blockSize();
        int listCount = 0;
        int count = 0;
        for (List<BlockTask> tasks : plan.tasksByKvHead()) {
            listCount += tasks.size();
            for (BlockTask task : tasks) {
                count += task.rows().length;
            }
        }
        MemorySegment lists = arena.allocate(Math.max(1, listCount) * (long) CudaKernels.LIST_INTS * Integer.BYTES, 32);
        MemorySegment tileStarts = arena.allocate((listCount + 1L) * Integer.BYTES, 16);
        MemorySegment pairs = arena.allocate(Math.max(1, count) * 2L * Integer.BYTES, 16);
        MemorySegment quads = arena.allocate(Math.max(1, count) * 4L * Integer.BYTES, 16);
        int[] used = new int[plan.rows()];
        int list = 0;
        int entry = 0;
        long tiles = 0;
        int slots = 1;
        for (int kvHead = 0; kvHead < plan.tasksByKvHead().size(); kvHead++) {
            for (BlockTask task : plan.tasksByKvHead().get(kvHead)) {
                int[] rows = task.rows();
                long at = (long) list * CudaKernels.LIST_INTS;
                lists.setAtIndex(I32, at, task.block());
                lists.setAtIndex(I32, at + 1, kvHead);
                lists.setAtIndex(I32, at + 2, task.causal() ? 1 : 0);
                lists.setAtIndex(I32, at + 3, entry);
                lists.setAtIndex(I32, at + 4, rows.length);
                lists.setAtIndex(I32, at + 5, (int) tiles);
                tileStarts.setAtIndex(I32, list, (int) tiles);
                tiles += (rows.length + CudaKernels.TILE_ROWS - 1) / CudaKernels.TILE_ROWS;
                long blockStart = (long) task.block() * blockSize;
                for (int row : rows) {
                    int slot = used[row]++;
                    slots = Math.max(slots, slot + 1);
                    int keys = task.causal() ? (int) (plan.firstPosition() + row / qHeads - blockStart + 1) : blockSize;
                    pairs.setAtIndex(I32, entry * 2L, row);
                    pairs.setAtIndex(I32, entry * 2L + 1, slot);
                    quads.setAtIndex(I32, entry * 4L, row);
                    quads.setAtIndex(I32, entry * 4L + 1, task.block());
                    quads.setAtIndex(I32, entry * 4L + 2, keys);
                    quads.setAtIndex(I32, entry * 4L + 3, slot);
                    entry++;
                }
                list++;
            }
        }
        tileStarts.setAtIndex(I32, listCount, (int) tiles);
        return new PlanLists(lists, tileStarts, pairs, quads, listCount, count, tiles, slots);
    }
}
