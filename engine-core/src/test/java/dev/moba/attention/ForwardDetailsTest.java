package dev.moba.attention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.config.AttentionMode;
import dev.moba.gating.Selection;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.ReferenceMoba;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/** The log-sum-exp and selections {@link MobaAttention#forwardDetailed} reports, and {@link VarlenBatch}. */
class ForwardDetailsTest {

    private static final int BLOCK = 4;
    private static final int TOP_K = 3;

    @Test
    void lseAndSelectionMatchTheDefinitionInEveryChunkOfAVarlenBatch() {
        Qkv data = new RandomTensors(31).qkv(45, 4, 2, 8);
        int[] cuSeqlens = {0, 17, 45};
        var reference = ReferenceMoba.withDefaultScale(4, 2, 8, BLOCK, TOP_K);
        float scale = (float) (1 / Math.sqrt(8));
        float[] expectedOut = reference.run(data.q(), data.k(), data.v(), cuSeqlens);
        float[] out = new float[expectedOut.length];
        float[] lse = new float[45 * 4];
        int[][] blocks = new int[45 * 4][];
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, BLOCK, TOP_K, DType.FP32,
                AttentionMode.MOBA);
             Arena arena = Arena.ofConfined()) {
            Tensor q = data.q(arena, DType.FP32, 0, 45);
            Tensor k = data.k(arena, DType.FP32, 0, 45);
            Tensor v = data.v(arena, DType.FP32, 0, 45);
            VarlenBatch.run(layer, cuSeqlens, q, k, v, 6, (from, position, result) -> {
                float[] o = result.output().toFloatArray();
                System.arraycopy(o, 0, out, from * 4 * 8, o.length);
                System.arraycopy(result.lse(), 0, lse, from * 4, result.lse().length);
                Selection selection = result.selection();
                for (int row = 0; row < result.lse().length; row++) {
                    List<Integer> picked = new ArrayList<>();
                    for (int slot = 0; slot < selection.picks(); slot++) {
                        if (selection.block(row, slot) >= 0) picked.add(selection.block(row, slot));
                    }
                    picked.add((position + row / 4) / BLOCK);
                    blocks[from * 4 + row] = picked.stream().mapToInt(Integer::intValue).toArray();
                }
            });
            assertThat(layer.bytesReserved()).as("every sequence closed").isZero();
        }
        assertThat(Errors.maxAbs(out, expectedOut)).isLessThanOrEqualTo(1e-5);
        for (int s = 0; s < 2; s++) {
            for (int t = 0; t < cuSeqlens[s + 1] - cuSeqlens[s]; t++) {
                for (int h = 0; h < 4; h++) {
                    int row = (cuSeqlens[s] + t) * 4 + h;
                    int[] expected = reference.selectedBlocks(data.q(), data.k(), cuSeqlens[s], t, h);
                    assertThat(blocks[row]).as("token %d head %d", cuSeqlens[s] + t, h).containsExactly(expected);
                    assertThat((double) lse[row]).as("lse of token %d head %d", cuSeqlens[s] + t, h)
                            .isCloseTo(lse(data, cuSeqlens[s], t, h, expected, scale),
                                    Offset.offset(1e-5));
                }
            }
        }
    }

    @Test
    void refusesBoundariesThatDoNotFitTheTokens() {
        assertThatThrownBy(() -> VarlenBatch.requireBoundaries(new int[] {0}, 0))
                .hasMessageContaining("at least two boundaries");
        assertThatThrownBy(() -> VarlenBatch.requireBoundaries(new int[] {1, 5}, 5))
                .hasMessage("cu_seqlens must start at 0, got 1");
        assertThatThrownBy(() -> VarlenBatch.requireBoundaries(new int[] {0, 3, 3, 5}, 5))
                .hasMessage("cu_seqlens must increase strictly, got 3 then 3 at index 2");
        assertThatThrownBy(() -> VarlenBatch.requireBoundaries(new int[] {0, 3, 6}, 5))
                .hasMessage("cu_seqlens must end at the number of tokens, 5, got 6");
    }

    /** {@code log(sum exp(scale * q.k))} over the causal keys of {@code blocks} of one sequence, in doubles. */
    private static double lse(Qkv data, int start, int t, int h, int[] blocks, float scale) {
        int kvHead = h / (data.qHeads() / data.kvHeads());
        double[] scores = Arrays.stream(blocks)
                .flatMap(b -> IntStream.range(b * BLOCK, Math.min((b + 1) * BLOCK, t + 1)))
                .mapToDouble(p -> {
                    double dot = 0;
                    for (int d = 0; d < data.dim(); d++) {
                        dot += (double) data.q()[((start + t) * data.qHeads() + h) * data.dim() + d]
                                * data.k()[((start + p) * data.kvHeads() + kvHead) * data.dim() + d];
                    }
                    return scale * dot;
                }).toArray();
        double max = Arrays.stream(scores).max().orElseThrow();
        return max + Math.log(Arrays.stream(scores).map(x -> Math.exp(x - max)).sum());
    }
}
