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
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.stream.DoubleStream;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The gate kernels (on the tensor cores for 16-bit queries with head dimensions that are multiples of 16 up to 128,
 * register-tiled for fp32 queries and multiples of 8 up to 128, one warp per row otherwise) select the same blocks
 * as the Java backend; 16-bit cases give both sides the same rounded queries. Both score in fp32, in different orders, so a row may differ only
 * where its last chosen and first passed-over blocks score within 1e-5 (relative) of each other, checked in double.
 */
@RequiresGpu
class CudaGateTest {

    record Case(DType queries, int tokens, int first, int kvHeads, int group, int dim, int blockSize, int picks,
                long seed) {}

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case(DType.FP32, 4096, 0, 2, 4, 128, 64, 2, 1),
                new Case(DType.FP32, 3000, 50_000, 1, 8, 128, 512, 11, 2),
                new Case(DType.FP32, 257, 9000, 2, 2, 64, 100, 5, 3),
                new Case(DType.FP32, 1, 70_000, 1, 4, 128, 256, 16, 4),
                new Case(DType.FP32, 777, 6000, 2, 1, 36, 128, 3, 5),
                new Case(DType.FP32, 1500, 100_000, 1, 2, 256, 1024, 7, 6),
                new Case(DType.BF16, 4096, 0, 2, 4, 128, 64, 2, 7),
                new Case(DType.BF16, 3000, 50_000, 1, 8, 128, 512, 11, 8),
                new Case(DType.BF16, 257, 9000, 2, 2, 64, 100, 5, 9),
                new Case(DType.BF16, 1, 70_000, 1, 4, 128, 256, 16, 10),
                new Case(DType.BF16, 777, 6000, 2, 1, 48, 128, 3, 11),
                new Case(DType.FP16, 2500, 30_000, 2, 4, 128, 256, 7, 12),
                new Case(DType.FP16, 900, 4000, 1, 2, 64, 64, 4, 13),
                new Case(DType.BF16, 500, 3000, 1, 2, 40, 128, 2, 14)).map(Arguments::of);
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
            Tensor queries = random.tensor(arena, c.tokens(), layout.qHeads(), c.dim()).roundedCopy(c.queries(), arena);
            GateRequest request = new GateRequest(queries, c.first(), summaries, c.picks(), c.blockSize(), layout);
            Selection expected = java.gate(List.of(request)).getFirst();
            Selection actual = c.queries() == DType.FP32
                    ? CudaBackends.shared().gate(List.of(request)).getFirst()
                    : gateStored(request, c.queries());
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

    /**
     * The device gate on queries stored in {@code dtype}, as a device sequence calls it: on the tensor cores where
     * it runs, else the register-tiled gate (head dimensions that are not multiples of 16).
     */
    private static Selection gateStored(GateRequest request, DType dtype) {
        CudaBackend backend = CudaBackends.shared();
        Tensor q = request.queries();
        HeadLayout layout = request.layout();
        long outBytes = (long) request.rows() * request.picks() * Integer.BYTES;
        return backend.device().run(() -> {
            long means = (long) layout.kvHeads() * layout.headDim() * request.summaries().capacity();
            long[] at = backend.scratch().regions(q.segment().byteSize(), q.size() * dtype.bytes(),
                    means * Float.BYTES, 3 * means * Short.BYTES, outBytes);
            backend.device().upload(q.segment(), at[0]);
            backend.kernels().convert(at[0], q.size(), dtype, at[1]);
            backend.device().upload(request.summaries().segment(), at[2]);
            backend.kernels().splitMeans(at[2], means, at[3]);
            if (CudaKernels.gateTermsSupport(dtype, layout.headDim())) {
                backend.kernels().gateTerms(at[1], dtype, q.tokens(), layout.qHeads(), layout.groupSize(),
                        layout.headDim(), request.firstPosition(), request.blockSize(), at[3], layout.kvHeads(),
                        request.summaries().capacity(), request.picks(), at[4]);
            } else {
                backend.kernels().gate(at[1], dtype, q.tokens(), layout.qHeads(), layout.groupSize(),
                        layout.headDim(), request.firstPosition(), request.blockSize(), at[2], layout.kvHeads(),
                        request.summaries().capacity(), request.picks(), at[4]);
            }
            return new Selection(request.rows(), request.picks(),
                    backend.device().downloadInts(at[4], request.rows() * request.picks()));
        });
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
        return chosenScores(selection, row, request).sum();
    }

    /** The magnitude the scores of a row's chosen blocks are compared at: their absolute sum, at least 1. */
    private static double scale(Selection selection, int row, GateRequest request) {
        return Math.max(1, chosenScores(selection, row, request).map(Math::abs).sum());
    }

    private static DoubleStream chosenScores(Selection selection, int row, GateRequest request) {
        return IntStream.range(0, selection.picks()).map(slot -> selection.block(row, slot)).filter(block -> block >= 0)
                .mapToDouble(block -> score(row, block, request));
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
