package dev.moba.demo;

import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.kv.SummaryTable;
import dev.moba.spi.Backend;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Recomputes which blocks every query of the document selected, for the heat map, the sparsity and the topic share.
 *
 * <p>The engine does not hand out its selections (its router keeps them for the length of a chunk), and gating is a
 * pure function of the queries and the block means. So this replays it with the same code on the same data: the
 * block means built as the KV cache builds them (keys in order, summed in double, divided, rounded to fp32) and the
 * backend's own {@link Backend#gate} on the same rounded queries. Chunking does not change a query's selection.
 *
 * <p>Costs one gating pass over the document per layer ({@code 2 * headDim} flops per query row and earlier block,
 * on the backend's threads) and the regeneration of its queries and keys; holds one chunk at a time.
 */
final class SelectionReplay {

    /** What the replay found. */
    record Result(SelectionMap map, Sparsity sparsity, long historyPicks, long onTopicPicks) {

        /** The share of history picks whose block is mostly about the query's own topic. */
        double onTopicShare() {
            return historyPicks == 0 ? 0 : (double) onTopicPicks / historyPicks;
        }
    }

    private final SyntheticDocument document;
    private final Backend backend;

    SelectionReplay(SyntheticDocument document, Backend backend) {
        this.document = document;
        this.backend = backend;
    }

    /** Replays every layer; {@code progress} receives the tokens of each chunk replayed. */
    Result run(IntConsumer progress) {
        DemoSpec spec = document.spec();
        int[] mainTopics = new int[spec.blocks()];
        for (int b = 0; b < mainTopics.length; b++) {
            mainTopics[b] = document.mainTopic(b);
        }
        var counts = new Counts(new SelectionMap(spec.layers(), spec.blocks()), mainTopics);
        for (int layer = 0; layer < spec.layers(); layer++) {
            replayLayer(layer, counts, progress);
        }
        return new Result(counts.map, new Sparsity(counts.attended, counts.causal), counts.historyPicks,
                counts.onTopic);
    }

    private void replayLayer(int layer, Counts counts, IntConsumer progress) {
        DemoSpec spec = document.spec();
        HeadLayout layout = spec.layout();
        MobaConfig config = spec.config();
        int rowWidth = layout.kvHeads() * layout.headDim();
        double[] openSum = new double[rowWidth];
        try (SummaryTable means = new SummaryTable(layout.kvHeads(), layout.headDim())) {
            for (int from = 0; from < spec.length(); from += spec.chunk()) {
                int count = Math.min(spec.chunk(), spec.length() - from);
                float[] keys = new float[count * rowWidth];
                document.fill(SyntheticDocument.Part.KEY, layer, from, count, spec.dtype(), keys);
                for (int i = 0; i < count; i++) {
                    for (int e = 0; e < rowWidth; e++) {
                        openSum[e] += keys[i * rowWidth + e];
                    }
                    int filled = (from + i) % spec.blockSize() + 1;
                    if (filled == spec.blockSize()) {
                        float[] mean = new float[rowWidth];
                        for (int e = 0; e < rowWidth; e++) {
                            mean[e] = (float) (openSum[e] / filled);
                            openSum[e] = 0;
                        }
                        means.add(new SealedBlock(means.blocks(), mean));
                    }
                }
                int picks = GateRequest.picksFor(config, from, count);
                try (Arena arena = Arena.ofShared()) {
                    Tensor queries = document.tensor(SyntheticDocument.Part.QUERY, layer, from, count, spec.dtype(),
                            arena);
                    Selection selection = picks == 0 ? Selection.none(count * layout.qHeads())
                            : backend.gate(List.of(new GateRequest(queries, from, means, picks, spec.blockSize(),
                                    layout))).getFirst();
                    counts.add(layer, from, count, layout.qHeads(), spec.blockSize(), selection);
                }
                progress.accept(count);
            }
        }
    }

    /** Running totals of a replay. */
    private final class Counts {
        final SelectionMap map;
        final int[] mainTopics;
        long attended;
        long causal;
        long historyPicks;
        long onTopic;

        Counts(SelectionMap map, int[] mainTopics) {
            this.map = map;
            this.mainTopics = mainTopics;
        }

        void add(int layer, int from, int count, int qHeads, int blockSize, Selection selection) {
            for (int i = 0; i < count; i++) {
                int t = from + i;
                int current = t / blockSize;
                int topic = document.topic(t);
                for (int h = 0; h < qHeads; h++) {
                    int row = i * qHeads + h;
                    map.add(layer, current, current);
                    int history = 0;
                    for (int slot = 0; slot < selection.picks(); slot++) {
                        int block = selection.block(row, slot);
                        if (block >= 0) {
                            map.add(layer, current, block);
                            history++;
                            onTopic += mainTopics[block] == topic ? 1 : 0;
                        }
                    }
                    historyPicks += history;
                    // History blocks are complete; the current block is read up to the query itself.
                    attended += (long) history * blockSize + t % blockSize + 1;
                    causal += t + 1;
                }
            }
        }
    }
}
