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
 * slots, so every entry writes its own partial and the merge finds them. Entries are laid out for the kernel that
 * reads them ({@link Entries}). Costs one pass over the plan's rows.
 *
 * @param lists      {@link CudaKernels#LIST_INTS} ints per list
 * @param tileStarts first tile of each list, then the total
 * @param entries    the entries, in the requested layout
 * @param listCount  lists
 * @param count      entries
 * @param tiles      tiles of {@link CudaKernels#TILE_ROWS} rows over all lists
 * @param slots      the most blocks any row reads (at least 1)
 */
record PlanLists(MemorySegment lists, MemorySegment tileStarts, MemorySegment entries, int listCount, int count,
                 long tiles, int slots) {

    /** How each entry is laid out. */
    enum Entries {
        /** {@code int2 {row, slot}}: the tensor-core kernel, which finds block and keys through the lists. */
        PAIRS(2),
        /** {@code int4 {row, block, keys, slot}}, {@code keys} how many of the block's keys the row sees: the fp32 kernel. */
        QUADS(4);

        final int ints;

        Entries(int ints) {
            this.ints = ints;
        }
    }

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;

    static PlanLists of(AttendPlan plan, Entries layout, Arena arena) {
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
        MemorySegment entries = arena.allocate(Math.max(1, count) * (long) layout.ints * Integer.BYTES, 16);
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
                    long offset = entry * (long) layout.ints;
                    if (layout == Entries.PAIRS) {
                        entries.setAtIndex(I32, offset, row);
                        entries.setAtIndex(I32, offset + 1, slot);
                    } else {
                        int keys = task.causal()
                                ? (int) (plan.firstPosition() + row / qHeads - blockStart + 1)
                                : blockSize;
                        entries.setAtIndex(I32, offset, row);
                        entries.setAtIndex(I32, offset + 1, task.block());
                        entries.setAtIndex(I32, offset + 2, keys);
                        entries.setAtIndex(I32, offset + 3, slot);
                    }
                    entry++;
                }
                list++;
            }
        }
        tileStarts.setAtIndex(I32, listCount, (int) tiles);
        return new PlanLists(lists, tileStarts, entries, listCount, count, tiles, slots);
    }
}
