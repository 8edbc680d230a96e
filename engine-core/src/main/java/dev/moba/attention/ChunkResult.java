package dev.moba.attention;

import dev.moba.gating.Selection;
import dev.moba.tensor.Tensor;

/**
 * What {@link MobaAttention#forwardDetailed} returns for one chunk. Rows are laid out as the queries:
 * {@code row = token * qHeads + head}, tokens counted from the chunk's first.
 *
 * @param output    fp32 {@code [n, qHeads, headDim]}: the attention output
 * @param lse       per row, {@code log(sum of exp(scale * dot(q, k)))} over every key the row read (natural log)
 * @param selection per row, the history blocks gating picked (ascending, {@code -1} in unused slots; the current
 *                  block, always read, is not listed); {@code null} in full mode, where every earlier block is read
 */
public record ChunkResult(Tensor output, float[] lse, Selection selection) {}
