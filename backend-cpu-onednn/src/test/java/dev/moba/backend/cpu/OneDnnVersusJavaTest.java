package dev.moba.backend.cpu;

import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.testing.BatchRun;
import dev.moba.testing.Within;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The oneDNN backend against the Java backend on seeded N(0,1) varlen batches: GQA groups, partial blocks, head
 * dimensions 64 and 128 (and an odd one), one-shot and chunked. Both compute on the same rounded inputs; where
 * oneDNN runs bf16 kernels the probabilities are rounded to bf16 too, so bf16 then uses the bounds of the contract,
 * and every other comparison is within 1e-5.
 */
class OneDnnVersusJavaTest {

    private static final int[] DIMS = {64, 128, 64, 128, 40};
    private static final int[] BLOCK_SIZES = {16, 64, 100, 128, 256};

    record Case(List<Integer> lengths, int kvHeads, int group, int dim, int blockSize, int topK, DType dtype,
                int chunk, int threads, long seed) {}

    static Stream<Arguments> cases() {
        SplittableRandom random = new SplittableRandom(20260415);
        DType[] dtypes = {DType.FP32, DType.BF16, DType.FP32, DType.FP16};
        return IntStream.range(0, 24).mapToObj(i -> Arguments.of(new Case(
                IntStream.range(0, random.nextInt(1, 4)).mapToObj(s -> random.nextInt(1, 700)).toList(),
                random.nextInt(1, 3), random.nextInt(1, 5), DIMS[i % DIMS.length],
                BLOCK_SIZES[random.nextInt(BLOCK_SIZES.length)], random.nextInt(1, 5), dtypes[i % dtypes.length],
                i % 3 == 0 ? 0 : random.nextInt(1, 200), 1 + i % 2, random.nextLong())));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void agreesWithTheJavaBackend(Case c) {
        OneDnnBackend onednn = OneDnnBackends.of(c.threads());
        float[] expected = run(TestBackends.FORK_JOIN, c);
        float[] actual = run(onednn, c);
        if (c.dtype() == DType.BF16 && onednn.bf16Kernels()) {
            Within.sixteenBitBounds(actual, expected);
        } else {
            Within.tolerance(DType.FP32, actual, expected);
        }
    }

    private static float[] run(Backend backend, Case c) {
        int qHeads = c.kvHeads() * c.group();
        var config = new MobaConfig(c.blockSize(), c.topK(), Float.NaN, c.dtype(), AttentionMode.MOBA);
        RandomTensors random = new RandomTensors(c.seed());
        List<Qkv> data = c.lengths().stream().map(n -> random.qkv(n, qHeads, c.kvHeads(), c.dim())).toList();
        return BatchRun.outputs(backend, config, new HeadLayout(qHeads, c.kvHeads(), c.dim()), data, c.chunk());
    }
}
