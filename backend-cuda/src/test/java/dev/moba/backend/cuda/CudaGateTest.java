package dev.moba.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import dev.moba.backend.java.JavaBackend;
import dev.moba.config.HeadLayout;
import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.kv.SummaryTable;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.Tensor;
import dev.moba.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The gate kernels (tiled for head dimensions that are multiples of 8 up to 128, one warp per row otherwise)
 * select the same blocks as the Java backend. Both score in fp32, in different orders, so a row may differ only
 * where its last chosen and first passed-over blocks score within 1e-5 (relative) of each other, checked in double.
 */
@RequiresGpu
class CudaGateTest {

    record Case(int tokens, int first, int kvHeads, int group, int dim, int blockSize, int picks, long seed) {}

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case(4096, 0, 2, 4, 128, 64, 2, 1),
                new Case(3000, 50_000, 1, 8, 128, 512, 11, 2),
                new Case(257, 9000, 2, 2, 64, 100, 5, 3),
                new Case(1, 70_000, 1, 4, 128, 256, 16, 4),
                new Case(777, 6000, 2, 1, 36, 128, 3, 5),
                new Case(1500, 100_000, 1, 2, 256, 1024, 7, 6)).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void selectsTheBlocksTheJavaBackendSelects(Case c) {
        HeadLayout layout = new HeadLayout(c.kvHeads() * c.group(), c.kvHeads(), c.dim());
        RandomTensors random = new RandomTensors(c.seed());
        int blocks = (c.first() + c.tokens() - 1) / c.blockSize();
        try (Arena arena = Arena.ofShared();  // the Java backend reads the queries on its worker threads
             SummaryTable summaries = new SummaryTable(c.kvHeads(), c.dim());
             JavaBackend java = new JavaBackend(new BackendOptions(2))) {
            for (int b = 0; b < blocks; b++) {
                summaries.add(new SealedBlock(b, random.normal(c.kvHeads() * c.dim())));
            }
            Tensor queries = random.tensor(arena, c.tokens(), layout.qHeads(), c.dim());
            GateRequest request = new GateRequest(queries, c.first(), summaries, c.picks(), c.blockSize(), layout);
            Selection expected = java.gate(List.of(request)).getFirst();
            Selection actual = CudaBackends.shared().gate(List.of(request)).getFirst();
            assertThat(actual.rows()).isEqualTo(expected.rows());
            int differing = 0;
            for (int row = 0; row < expected.rows(); row++) {
                if (!sameRow(actual, expected, row)) {
                    differing++;
                    assertThat(chosenScore(actual, row, request)).as("row %d: score of the chosen blocks", row)
                            .isCloseTo(chosenScore(expected, row, request),
                                    offset(1e-5 * scale(expected, row, request)));
                }
            }
            assertThat(differing).as("rows choosing other blocks").isLessThanOrEqualTo(expected.rows() / 1000);
        }
    }

    private static boolean sameRow(Selection a, Selection b, int row) {
        for (int slot = 0; slot < a.picks(); slot++) {
            if (a.block(row, slot) != b.block(row, slot)) {
                return false;
            }
        }
        return true;
    }

    /** The sum of the chosen blocks' scores, in double. */
    private static double chosenScore(Selection selection, int row, GateRequest request) {
        double total = 0;
        for (int slot = 0; slot < selection.picks(); slot++) {
            int block = selection.block(row, slot);
            if (block >= 0) {
                total += score(row, block, request);
            }
        }
        return total;
    }

    private static double scale(Selection selection, int row, GateRequest request) {
        double total = 0;
        for (int slot = 0; slot < selection.picks(); slot++) {
            int block = selection.block(row, slot);
            if (block >= 0) {
                total += Math.abs(score(row, block, request));
            }
        }
        return Math.max(1, total);
    }

    private static double score(int row, int block, GateRequest request) {
        HeadLayout layout = request.layout();
        int token = row / layout.qHeads();
        int head = row % layout.qHeads();
        double dot = 0;
        for (int d = 0; d < layout.headDim(); d++) {
            dot += (double) request.queries().get(token, head, d)
                    * request.summaries().mean(block, layout.kvHeadOf(head), d);
        }
        return dot;
    }
}
