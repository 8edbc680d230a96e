package dev.moba.plan;

import dev.moba.config.HeadLayout;
import dev.moba.spi.KvCache;
import dev.moba.tensor.Tensor;
import java.util.List;

/**
 * The attention work of one chunk of one sequence, grouped by kv head and block.
 *
 * @param cache          the sequence's keys and values; holds every position up to the last query
 * @param queries        fp32 {@code [n, qHeads, headDim]}, already rounded to the storage dtype
 * @param firstPosition  sequence position of the first query
 * @param scale          softmax scale
 * @param layout         head geometry
 * @param tasksByKvHead  for each kv head, its block tasks; the rows of all tasks of one kv head are that head's
 *                       group of query heads only, so kv heads can run in parallel
 * @param output         where the caller wants the normalised outputs, fp32 {@code [n, qHeads, headDim]}, writable
 *                       from any thread and apart from the queries; a backend may fold its results straight into
 *                       it and return partials over it, which spares the caller a copy of every output. Or
 *                       {@code null}
 */
public record AttendPlan(
        KvCache cache, Tensor queries, int firstPosition, float scale, HeadLayout layout,
        List<List<BlockTask>> tasksByKvHead, Tensor output) {

    /** A plan whose results go to memory the backend chooses. */
    public AttendPlan(KvCache cache, Tensor queries, int firstPosition, float scale, HeadLayout layout,
                      List<List<BlockTask>> tasksByKvHead) {
        this(cache, queries, firstPosition, scale, layout, tasksByKvHead, null);
    }

    /** Query rows: {@code tokens * qHeads}. */
    public int rows() {
        return queries.tokens() * layout.qHeads();
    }

    /** Query-key pairs the plan attends (causal blocks count only the keys each query sees). */
    public long attendedPairs() {
        int blockSize = cache.spec().blockSize();
        long pairs = 0;
        for (List<BlockTask> tasks : tasksByKvHead) {
            for (BlockTask task : tasks) {
                if (!task.causal()) {
                    pairs += (long) task.rows().length * blockSize;
                    continue;
                }
                long blockStart = (long) task.block() * blockSize;
                for (int row : task.rows()) {
                    pairs += firstPosition + row / layout.qHeads() - blockStart + 1;
                }
            }
        }
        return pairs;
    }
}
