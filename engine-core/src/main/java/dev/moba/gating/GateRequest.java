package dev.moba.gating;

import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.kv.SummaryTable;
import dev.moba.tensor.Tensor;

/**
 * Gating work for the queries of one chunk of one sequence.
 *
 * <p>For the query at position {@code t} and head {@code h}, the candidates are the sealed blocks
 * {@code i < t / blockSize}; the score of candidate {@code i} is {@code dot(q[t][h], mean[i][h / groupSize])} in
 * fp32, unscaled; the {@code picks} best are selected (all of them when there are fewer), lower block index first on
 * equal scores.
 *
 * @param queries       fp32 {@code [n, qHeads, headDim]}, already rounded to the storage dtype
 * @param firstPosition sequence position of the first query
 * @param summaries     the sequence's sealed block means; covers every candidate of every query
 * @param picks         history blocks to select per (token, head): {@code topK - 1}, or fewer when no query of
 *                      the chunk has that many candidates
 * @param blockSize     tokens per block
 * @param layout        head geometry
 */
public record GateRequest(
        Tensor queries, int firstPosition, SummaryTable summaries, int picks, int blockSize, HeadLayout layout) {

    /**
     * History blocks to select per query of a chunk of {@code tokens} starting at {@code firstPosition}: the
     * configured {@code topK - 1}, or fewer when no query of the chunk has that many candidates (its last query has
     * the most). Zero means there is nothing to gate.
     */
    public static int picksFor(MobaConfig config, int firstPosition, int tokens) {
        if (tokens == 0) {
            return 0;
        }
        int candidates = (firstPosition + tokens - 1) / config.blockSize();
        return Math.min(config.historyPicks(), candidates);
    }

    /** Query rows: {@code tokens * qHeads}. */
    public int rows() {
        return queries.tokens() * layout.qHeads();
    }
}
