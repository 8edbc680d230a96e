package dev.moba.backend.cuda;

import dev.moba.plan.AttendPlan;
import dev.moba.plan.BlockTask;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A plan flattened for the attention kernel: one {@code int4 {row, block, keys, slot}} per (query row, block) pair,
 * where {@code keys} is how many of the block's keys the row sees and {@code slot} numbers the row's blocks, so
 * that every entry writes its own partial and the merge finds them. Costs one pass over the plan's rows.
 *
 * @param segment the entries, in memory the garbage collector frees
 * @param count   entries
 * @param slots   the most blocks any row reads (at least 1)
 */
record AttendEntries(MemorySegment segment, int count, int slots) {

    static AttendEntries of(AttendPlan plan) {
        int qHeads = plan.layout().qHeads();
        int blockSize = plan.cache().spec().blockSize();
        int[] used = new int[plan.rows()];
        int count = 0;
        for (List<BlockTask> tasks : plan.tasksByKvHead()) {
            for (BlockTask task : tasks) {
                count += task.rows().length;
            }
        }
        MemorySegment entries = Arena.ofAuto().allocate(Math.max(1, count) * 4L * Integer.BYTES, 16);
        int at = 0;
        int slots = 1;
        for (List<BlockTask> tasks : plan.tasksByKvHead()) {
            for (BlockTask task : tasks) {
                long blockStart = (long) task.block() * blockSize;
                for (int row : task.rows()) {
                    int keys = task.causal()
                            ? (int) (plan.firstPosition() + row / qHeads - blockStart + 1)
                            : blockSize;
                    int slot = used[row]++;
                    slots = Math.max(slots, slot + 1);
                    entries.setAtIndex(ValueLayout.JAVA_INT, at * 4L, row);
                    entries.setAtIndex(ValueLayout.JAVA_INT, at * 4L + 1, task.block());
                    entries.setAtIndex(ValueLayout.JAVA_INT, at * 4L + 2, keys);
                    entries.setAtIndex(ValueLayout.JAVA_INT, at * 4L + 3, slot);
                    at++;
                }
            }
        }
        return new AttendEntries(entries.asSlice(0, count * 4L * Integer.BYTES), count, slots);
    }
}
