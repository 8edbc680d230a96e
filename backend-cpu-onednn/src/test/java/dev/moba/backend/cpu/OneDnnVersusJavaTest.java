package dev.moba.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.attention.Chunk;
import dev.moba.attention.MobaAttention;
import dev.moba.attention.Sequence;
import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.util.ArrayList;
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
            assertThat(Errors.maxAbs(actual, expected)).as("max abs difference").isLessThanOrEqualTo(2e-2);
            assertThat(Errors.meanAbs(actual, expected)).as("mean abs difference").isLessThanOrEqualTo(4e-4);
        } else {
            assertThat(Errors.maxAbs(actual, expected)).as("max abs difference").isLessThanOrEqualTo(1e-5);
        }
    }

    /** Feeds every sequence of the case as one batch per step and returns all outputs, sequence after sequence. */
    private static float[] run(Backend backend, Case c) {
        int qHeads = c.kvHeads() * c.group();
        var config = new MobaConfig(c.blockSize(), c.topK(), Float.NaN, c.dtype(), AttentionMode.MOBA);
        RandomTensors random = new RandomTensors(c.seed());
        List<Qkv> data = c.lengths().stream().map(n -> random.qkv(n, qHeads, c.kvHeads(), c.dim())).toList();
        List<float[]> outputs = new ArrayList<>();
        data.forEach(d -> outputs.add(new float[d.tokens() * qHeads * c.dim()]));
        int longest = c.lengths().stream().mapToInt(Integer::intValue).max().orElseThrow();
        int step = c.chunk() == 0 ? longest : c.chunk();
        try (var layer = new MobaAttention(config, new HeadLayout(qHeads, c.kvHeads(), c.dim()), backend)) {
            List<Sequence> sequences = data.stream().map(d -> layer.openSequence()).toList();
            for (int from = 0; from < longest; from += step) {
                try (Arena arena = Arena.ofConfined()) {
                    List<Chunk> batch = new ArrayList<>();
                    List<Integer> owners = new ArrayList<>();
                    for (int s = 0; s < data.size(); s++) {
                        Qkv d = data.get(s);
                        int to = Math.min(d.tokens(), from + step);
                        if (from < to) {
                            batch.add(new Chunk(sequences.get(s), d.q(arena, DType.FP32, from, to),
                                    d.k(arena, DType.FP32, from, to), d.v(arena, DType.FP32, from, to)));
                            owners.add(s);
                        }
                    }
                    List<Tensor> out = layer.forward(batch, arena);
                    for (int i = 0; i < out.size(); i++) {
                        float[] values = out.get(i).toFloatArray();
                        System.arraycopy(values, 0, outputs.get(owners.get(i)), from * qHeads * c.dim(),
                                values.length);
                    }
                }
            }
        }
        int total = outputs.stream().mapToInt(o -> o.length).sum();
        float[] all = new float[total];
        int at = 0;
        for (float[] o : outputs) {
            System.arraycopy(o, 0, all, at, o.length);
            at += o.length;
        }
        return all;
    }
}
