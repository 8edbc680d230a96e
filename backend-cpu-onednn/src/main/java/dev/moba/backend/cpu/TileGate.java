package dev.moba.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;

import dev.moba.gating.GateRequest;
import dev.moba.gating.TopK;
import dev.moba.kv.SummaryTable;
import dev.moba.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Gates the query rows of one kv head's group, for the tokens in a given range, on one thread: scores a tile of
 * queries against the mean keys of every candidate block with one fp32 oneDNN matmul (fp32 arithmetic, as the
 * contract asks: lower precision changes selections), then keeps each row's best {@code picks} among the blocks
 * before its own ({@link TopK}: lower block index first on ties).
 */
final class TileGate {

    private final Worker worker;
    private float[] scores = new float[0];
    private float[] topWork = new float[0];

    TileGate(Worker worker) {
        this.worker = worker;
    }

    /** The matmul shape of gating against {@code summaries}: fp32 queries times its {@code [dim][capacity]} means. */
    static AttentionShape shape(SummaryTable summaries) {
        return new AttentionShape(DType.FP32, dnnl_f32, summaries.headDim(), summaries.capacity(),
                summaries.headDim());
    }

    /** Writes the selection of the rows of tokens {@code [tokenFrom, tokenTo)}, heads of {@code kvHead}. */
    void run(GateRequest request, int kvHead, int tokenFrom, int tokenTo, int[] selection) {
        int qHeads = request.layout().qHeads();
        int group = request.layout().groupSize();
        int dim = request.layout().headDim();
        int picks = request.picks();
        SummaryTable summaries = request.summaries();
        AttentionShape shape = shape(summaries);
        int capacity = summaries.capacity();
        if (scores.length < AttentionShape.MAX_ROWS * capacity) {
            scores = new float[AttentionShape.MAX_ROWS * capacity];
        }
        if (topWork.length < picks) {
            topWork = new float[picks];
        }
        MemorySegment q = request.queries().segment();
        MemorySegment tile = worker.buffers(shape).queries();
        long means = summaries.segment().address() + summaries.headOffset(kvHead);
        long rowBytes = (long) dim * Float.BYTES;
        // Tiles count rows (token, head of the group), not tokens: a group may be larger than a tile.
        int endRow = tokenTo * group;
        for (int r0 = tokenFrom * group; r0 < endRow; r0 += AttentionShape.MAX_ROWS) {
            int rows = Math.min(AttentionShape.MAX_ROWS, endRow - r0);
            int candidatesOfLast = (request.firstPosition() + (r0 + rows - 1) / group) / request.blockSize();
            if (candidatesOfLast == 0) {
                fillNone(selection, r0, rows, kvHead, group, qHeads, picks);
                continue;
            }
            for (int i = 0; i < rows; i++) {
                MemorySegment.copy(q, queryRow(r0 + i, kvHead, group, qHeads) * rowBytes, tile, i * rowBytes,
                        rowBytes);
            }
            int keys = shape.keyBucket(candidatesOfLast);
            worker.scores(shape, AttentionShape.rowBucket(rows), keys, means);
            MemorySegment.copy(worker.buffers(shape).scores(), ValueLayout.JAVA_FLOAT, 0, scores, 0,
                    rows * capacity);
            for (int i = 0; i < rows; i++) {
                int t = (r0 + i) / group;
                int candidates = (request.firstPosition() + t) / request.blockSize();
                TopK.select(scores, i * capacity, candidates, picks, selection,
                        (int) queryRow(r0 + i, kvHead, group, qHeads) * picks, topWork);
            }
        }
    }

    /** The query row ({@code token * qHeads + head}) of group row {@code r} of kv head {@code kvHead}. */
    private static long queryRow(int r, int kvHead, int group, int qHeads) {
        return (long) (r / group) * qHeads + kvHead * group + r % group;
    }

    private static void fillNone(int[] selection, int r0, int rows, int kvHead, int group, int qHeads, int picks) {
        for (int r = r0; r < r0 + rows; r++) {
            int row = (int) queryRow(r, kvHead, group, qHeads);
            Arrays.fill(selection, row * picks, (row + 1) * picks, -1);
        }
    }
}
