package dev.moba.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Splits the block tasks of one chunk among shards that each own {@code blocksPerShard} consecutive blocks, as the
 * streaming engine stores a long sequence. Block numbers come out relative to each shard's first block, which is
 * how a shard's own cache numbers them. Costs one pass over the tasks.
 */
public final class ShardSplit {

    private ShardSplit() {}

    /** The tasks of each shard that has any, by shard number, each grouped by kv head like the input. */
    public static SortedMap<Integer, List<List<BlockTask>>> byShard(List<List<BlockTask>> tasksByKvHead,
                                                                    int blocksPerShard) {
        if (blocksPerShard < 1) {
            throw new IllegalArgumentException("blocksPerShard must be >= 1, got " + blocksPerShard);
        }
        int kvHeads = tasksByKvHead.size();
        SortedMap<Integer, List<List<BlockTask>>> shards = new TreeMap<>();
        for (int j = 0; j < kvHeads; j++) {
            for (BlockTask task : tasksByKvHead.get(j)) {
                int shard = task.block() / blocksPerShard;
                List<List<BlockTask>> own = shards.computeIfAbsent(shard, s -> emptyHeads(kvHeads));
                own.get(j).add(new BlockTask(task.block() - shard * blocksPerShard, task.rows(), task.causal()));
            }
        }
        shards.replaceAll((shard, heads) -> {
            List<List<BlockTask>> frozen = new ArrayList<>(kvHeads);
            for (List<BlockTask> head : heads) {
                frozen.add(List.copyOf(head));
            }
            return List.copyOf(frozen);
        });
        return shards;
    }

    private static List<List<BlockTask>> emptyHeads(int kvHeads) {
        List<List<BlockTask>> heads = new ArrayList<>(kvHeads);
        for (int j = 0; j < kvHeads; j++) {
            heads.add(new ArrayList<>());
        }
        return heads;
    }
}
