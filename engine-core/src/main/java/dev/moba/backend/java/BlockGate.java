package dev.moba.backend.java;

import dev.moba.gating.GateRequest;
import dev.moba.gating.TopK;
import dev.moba.kv.HostLayout;
import dev.moba.kv.SummaryTable;
import dev.moba.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Gates the query rows of one kv head's group, for the tokens in a given range, on one thread: scores a tile of
 * queries against every candidate block mean at once ({@link MatMul} against the transposed summary table, packed
 * once per range), then
 * keeps each row's best {@code picks} among the blocks before its own ({@link TopK}). Costs
 * {@code 2 * headDim} flops per (row, block) pair.
 */
final class BlockGate {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final Scratch scratch;

    BlockGate(Scratch scratch) {
        this.scratch = scratch;
    }

    /** Writes the selection of the rows of tokens {@code [tokenFrom, tokenTo)}, heads of {@code kvHead}. */
    void run(GateRequest request, int kvHead, int tokenFrom, int tokenTo, int[] selection) {
        int qHeads = request.layout().qHeads();
        int group = request.layout().groupSize();
        int dim = request.layout().headDim();
        int picks = request.picks();
        SummaryTable summaries = request.summaries();
        scratch.ensure(dim, summaries.capacity(), 0);
        scratch.ensureTopK(picks);
        MemorySegment q = request.queries().segment();
        float[] tile = scratch.queries;
        float[] scores = scratch.scores;
        int lds = summaries.capacity();
        int candidatesOfRange = (request.firstPosition() + tokenTo - 1) / request.blockSize();
        // A range of fewer rows than a register tile (a decode step's) reads the table where it lies.
        boolean packed = (tokenTo - tokenFrom) * group >= MatMul.TILE_ROWS;
        if (packed && candidatesOfRange > 0) {
            scratch.keys.pack(summaries.segment(), summaries.headOffset(kvHead) / Float.BYTES, lds, dim,
                    HostLayout.padColumns(candidatesOfRange), DType.FP32);
        }
        // Tiles count rows (token, head of the group), not tokens: a group may be larger than a tile.
        int endRow = tokenTo * group;
        for (int r0 = tokenFrom * group; r0 < endRow; r0 += Scratch.TILE_ROWS) {
            int rows = Math.min(Scratch.TILE_ROWS, endRow - r0);
            int candidatesOfLast = (request.firstPosition() + (r0 + rows - 1) / group) / request.blockSize();
            if (candidatesOfLast == 0) {
                fillNone(selection, r0, rows, kvHead, group, qHeads, picks);
                continue;
            }
            // A token's heads of the group are adjacent in q: one copy each.
            for (int i = 0; i < rows; ) {
                int t = (r0 + i) / group;
                int h = (r0 + i) % group;
                int run = Math.min(group - h, rows - i);
                MemorySegment.copy(q, F32, ((long) t * qHeads + kvHead * group + h) * dim * Float.BYTES, tile,
                        i * dim, run * dim);
                i += run;
            }
            // Zero rows up to whole register tiles, as in block attention.
            int padded = (rows + MatMul.TILE_ROWS - 1) / MatMul.TILE_ROWS * MatMul.TILE_ROWS;
            Arrays.fill(tile, rows * dim, padded * dim, 0f);
            int cols = HostLayout.padColumns(candidatesOfLast);
            if (packed) {
                MatMul.multiply(tile, dim, padded, dim, scratch.keys, cols, scores, lds);
            } else {
                MatMul.multiplyFew(tile, dim, rows, dim, summaries.segment(), summaries.headOffset(kvHead), lds, cols,
                        scores, lds);
            }
            for (int i = 0; i < rows; i++) {
                int t = (r0 + i) / group;
                int h = kvHead * group + (r0 + i) % group;
                int candidates = (request.firstPosition() + t) / request.blockSize();
                TopK.select(scores, i * lds, candidates, picks, selection, (t * qHeads + h) * picks,
                        scratch.topWork);
            }
        }
    }

    private static void fillNone(int[] selection, int r0, int rows, int kvHead, int group, int qHeads, int picks) {
        for (int r = r0; r < r0 + rows; r++) {
            int row = r / group * qHeads + kvHead * group + r % group;
            Arrays.fill(selection, row * picks, (row + 1) * picks, -1);
        }
    }
}
