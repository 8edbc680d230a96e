package dev.moba.cli;

import dev.moba.attention.ChunkResult;
import dev.moba.attention.VarlenBatch;
import dev.moba.gating.Selection;
import dev.moba.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Writes each chunk's results of {@code moba run} into the output's mapped arrays, at the chunk's packed tokens:
 * {@code out} {@code [tokens, qHeads, headDim]}, and optionally {@code lse} {@code [tokens, qHeads]} and
 * {@code selection} {@code [tokens, qHeads, slots]} (the blocks each query read, ascending, its current block last,
 * then {@code -1}). Costs one copy of each result.
 */
final class ResultWriter implements VarlenBatch.Sink {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int qHeads;
    private final int blockSize;
    private final int slots;
    private final MemorySegment out;
    private final MemorySegment lse;
    private final MemorySegment selection;

    /**
     * @param lse       where to write the log-sum-exp, or {@code null} for none
     * @param selection where to write the selected blocks, {@code slots} per row, or {@code null} for none
     */
    ResultWriter(int qHeads, int blockSize, int slots, MemorySegment out, MemorySegment lse,
                 MemorySegment selection) {
        this.qHeads = qHeads;
        this.blockSize = blockSize;
        this.slots = slots;
        this.out = out;
        this.lse = lse;
        this.selection = selection;
    }

    @Override
    public void accept(int from, int position, ChunkResult result) {
        Tensor o = result.output();
        long rowBytes = o.segment().byteSize() / Math.max(1, o.tokens());
        // The engine's fp32 is native order, little-endian on every platform it runs on: a plain byte copy.
        MemorySegment.copy(o.segment(), 0, out, from * rowBytes, o.segment().byteSize());
        long firstRow = (long) from * qHeads;
        float[] rowLse = result.lse();
        if (lse != null) {
            MemorySegment.copy(rowLse, 0, lse, F32, firstRow * Float.BYTES, rowLse.length);
        }
        if (selection != null) {
            writeSelection(firstRow, position, rowLse.length, result.selection());
        }
    }

    private void writeSelection(long firstRow, int position, int rows, Selection picked) {
        for (int r = 0; r < rows; r++) {
            long at = (firstRow + r) * slots;
            int slot = 0;
            for (int p = 0; p < picked.picks(); p++) {
                int block = picked.block(r, p);
                if (block >= 0) {
                    selection.setAtIndex(I32, at + slot++, block);
                }
            }
            selection.setAtIndex(I32, at + slot++, (position + r / qHeads) / blockSize);
            while (slot < slots) {
                selection.setAtIndex(I32, at + slot++, -1);
            }
        }
    }
}
