package dev.moba.attention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.config.AttentionMode;
import dev.moba.spi.BackendOptions;
import dev.moba.tensor.DType;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.ReferenceMoba;
import dev.moba.testing.TestBackends;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Properties of {@link MobaAttention} on the Java backend, on N(0,1) data: streaming equivalence, dense limit, GQA,
 * varlen isolation and batch order, each also checked against {@link ReferenceMoba}. Every comparison, bf16 and
 * fp16 storage included, is within 1e-5: the engine computes in fp32 on the rounded inputs, which is what the
 * reference is given. Each property runs on cases drawn from a fixed seed, so runs are reproducible and a failing
 * case is named by its parameters.
 */
class MobaAttentionPropertiesTest {

    private static final double TOLERANCE = 1e-5;

    /** Geometry and settings of one sequence; {@code seed} draws its data. */
    record Shape(int length, int kvHeads, int group, int dim, int blockSize, int topK, DType dtype, long seed) {

        int qHeads() {
            return kvHeads * group;
        }

        Qkv data() {
            return new RandomTensors(seed).qkv(length, qHeads(), kvHeads, dim);
        }

        ReferenceMoba reference(int k) {
            return ReferenceMoba.withDefaultScale(qHeads(), kvHeads, dim, blockSize, k);
        }

        int blocks() {
            return (length + blockSize - 1) / blockSize;
        }
    }

    private static final int[] DIMS = {1, 5, 16, 33, 64, 128};
    private static final int[] BLOCK_SIZES = {1, 3, 16, 64, 100, 128};
    private static final DType[] DTYPES = {DType.FP32, DType.FP32, DType.BF16, DType.FP16};

    /** A random shape: lengths uniform in 1..600 so that most sequences span several blocks. */
    private static Shape shape(SplittableRandom random) {
        return new Shape(random.nextInt(1, 601), random.nextInt(1, 3), random.nextInt(1, 4),
                DIMS[random.nextInt(DIMS.length)], BLOCK_SIZES[random.nextInt(BLOCK_SIZES.length)],
                random.nextInt(1, 6), DTYPES[random.nextInt(DTYPES.length)], random.nextLong());
    }

    private static List<Integer> lengths(SplittableRandom random) {
        return IntStream.range(0, random.nextInt(2, 5)).mapToObj(i -> random.nextInt(1, 301)).toList();
    }

    /** {@code tries} argument lists drawn by {@code draw} from a generator seeded with {@code seed}. */
    private static Stream<Arguments> cases(long seed, int tries, java.util.function.Function<SplittableRandom, Object[]> draw) {
        SplittableRandom random = new SplittableRandom(seed);
        return IntStream.range(0, tries).mapToObj(i -> Arguments.of(draw.apply(random)));
    }

    static Stream<Arguments> chunkings() {
        return cases(20240601, 120, r -> new Object[] {shape(r),
                IntStream.range(0, r.nextInt(1, 7)).mapToObj(i -> r.nextInt(1, 301)).toList(), r.nextBoolean()});
    }

    static Stream<Arguments> prefillsThenDecode() {
        return cases(20240602, 60, r -> new Object[] {shape(r), r.nextInt(0, 601), r.nextBoolean()});
    }

    static Stream<Arguments> coveringTopKs() {
        return cases(20240603, 60, r -> new Object[] {shape(r), r.nextInt(0, 4), r.nextInt(0, 301)});
    }

    static Stream<Arguments> groups() {
        return cases(20240604, 60, r -> new Object[] {shape(r), r.nextInt(2, 5)});
    }

    static Stream<Arguments> batches() {
        return cases(20240605, 40, r -> new Object[] {shape(r), lengths(r)});
    }

    static Stream<Arguments> permutations() {
        return cases(20240606, 40, r -> new Object[] {shape(r), lengths(r), r.nextLong()});
    }

    @ParameterizedTest
    @MethodSource("chunkings")
    void anyChunkingEqualsOneShot(Shape shape, List<Integer> sizes, boolean parallel) {
        Qkv data = shape.data();
        try (MobaAttention layer = Engine.layer(parallel ? TestBackends.FORK_JOIN : TestBackends.INLINE, data, shape.blockSize(), shape.topK(),
                shape.dtype(), AttentionMode.MOBA)) {
            float[] oneShot = Engine.oneShot(layer, data);
            float[] chunked = Engine.chunked(layer, data, sizes.stream().mapToInt(Integer::intValue).toArray());
            assertThat(Errors.maxAbs(chunked, oneShot)).as("chunked vs one-shot").isLessThanOrEqualTo(TOLERANCE);
            assertMatchesReference(oneShot, shape, data, shape.topK());
        }
    }

    @ParameterizedTest
    @MethodSource("prefillsThenDecode")
    void decodeAfterPrefillEqualsOneShot(Shape shape, int prefill, boolean parallel) {
        Qkv data = shape.data();
        int first = Math.min(prefill, shape.length());
        try (MobaAttention layer = Engine.layer(parallel ? TestBackends.FORK_JOIN : TestBackends.INLINE, data, shape.blockSize(), shape.topK(),
                shape.dtype(), AttentionMode.MOBA);
             Sequence sequence = layer.openSequence()) {
            float[] oneShot = Engine.oneShot(layer, data);
            float[] head = Engine.feed(layer, sequence, data.slice(0, first), Math.max(1, first));
            float[] tail = Engine.feed(layer, sequence, data.slice(first, shape.length()), 1);
            float[] streamed = concat(head, tail);
            assertThat(sequence.length()).isEqualTo(shape.length());
            assertThat(Errors.maxAbs(streamed, oneShot)).as("prefill %d then decode", first)
                    .isLessThanOrEqualTo(TOLERANCE);
            assertMatchesReference(streamed, shape, data, shape.topK());
        }
    }

    @ParameterizedTest
    @MethodSource("coveringTopKs")
    void topKCoveringEveryBlockIsDenseCausal(Shape shape, int extra, int chunk) {
        Qkv data = shape.data();
        int coveringTopK = shape.blocks() + extra;
        try (MobaAttention moba = Engine.layer(TestBackends.FORK_JOIN, data, shape.blockSize(), coveringTopK, shape.dtype(),
                AttentionMode.MOBA);
             MobaAttention full = Engine.layer(TestBackends.FORK_JOIN, data, shape.blockSize(), shape.topK(), shape.dtype(),
                     AttentionMode.FULL)) {
            float[] sparse = Engine.chunked(moba, data, Math.max(1, chunk));
            float[] dense = Engine.chunked(full, data, Math.max(1, chunk));
            assertThat(Errors.maxAbs(sparse, dense)).as("covering top-k vs full mode").isLessThanOrEqualTo(TOLERANCE);
            assertMatchesReference(dense, shape, data, ReferenceMoba.FULL);
        }
    }

    @ParameterizedTest
    @MethodSource("groups")
    void groupedQueryAttentionEqualsRepeatedKv(Shape shape, int group) {
        Shape gqa = new Shape(shape.length(), shape.kvHeads(), group, shape.dim(), shape.blockSize(), shape.topK(),
                shape.dtype(), shape.seed());
        Qkv data = gqa.data();
        Qkv repeated = data.repeatKv();
        float[] grouped;
        float[] expanded;
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, gqa.blockSize(), gqa.topK(), gqa.dtype(),
                AttentionMode.MOBA)) {
            grouped = Engine.chunked(layer, data, 37);
        }
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, repeated, gqa.blockSize(), gqa.topK(), gqa.dtype(),
                AttentionMode.MOBA)) {
            expanded = Engine.chunked(layer, repeated, 37);
        }
        assertThat(Errors.maxAbs(grouped, expanded)).as("GQA vs repeated kv").isLessThanOrEqualTo(TOLERANCE);
        assertMatchesReference(grouped, gqa, data, gqa.topK());
    }

    @ParameterizedTest
    @MethodSource("batches")
    void sequencesOfABatchNeverSeeEachOther(Shape shape, List<Integer> lengths) {
        List<Qkv> sequences = sequences(shape, lengths);
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, sequences.getFirst(), shape.blockSize(), shape.topK(),
                shape.dtype(), AttentionMode.MOBA)) {
            List<float[]> together = Engine.batch(layer, sequences);
            for (int s = 0; s < sequences.size(); s++) {
                float[] alone = Engine.oneShot(layer, sequences.get(s));
                assertThat(Errors.maxAbs(together.get(s), alone)).as("sequence %d", s).isLessThanOrEqualTo(TOLERANCE);
                Shape own = new Shape(sequences.get(s).tokens(), shape.kvHeads(), shape.group(), shape.dim(),
                        shape.blockSize(), shape.topK(), shape.dtype(), 0);
                assertMatchesReference(together.get(s), own, sequences.get(s), shape.topK());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("permutations")
    void permutingTheBatchPermutesTheOutputs(Shape shape, List<Integer> lengths, long shuffleSeed) {
        List<Qkv> sequences = sequences(shape, lengths);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < sequences.size(); i++) {
            order.add(i);
        }
        java.util.Collections.shuffle(order, new java.util.Random(shuffleSeed));
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, sequences.getFirst(), shape.blockSize(), shape.topK(),
                shape.dtype(), AttentionMode.MOBA)) {
            List<float[]> inOrder = Engine.batch(layer, sequences);
            List<float[]> permuted = Engine.batch(layer, order.stream().map(sequences::get).toList());
            for (int i = 0; i < order.size(); i++) {
                assertThat(Errors.maxAbs(permuted.get(i), inOrder.get(order.get(i)))).as("position %d", i)
                        .isLessThanOrEqualTo(TOLERANCE);
            }
        }
    }

    private static List<Qkv> sequences(Shape shape, List<Integer> lengths) {
        RandomTensors random = new RandomTensors(shape.seed());
        List<Qkv> sequences = new ArrayList<>();
        for (int length : lengths) {
            sequences.add(random.qkv(length, shape.qHeads(), shape.kvHeads(), shape.dim()));
        }
        return sequences;
    }

    /** Compares with the fp32 definition applied to the inputs rounded to the storage type. */
    private static void assertMatchesReference(float[] actual, Shape shape, Qkv data, int topK) {
        Qkv rounded = data.rounded(shape.dtype());
        float[] expected = shape.reference(topK).run(rounded.q(), rounded.k(), rounded.v());
        assertThat(Errors.maxAbs(actual, expected)).as("vs reference, top-k %d", topK).isLessThanOrEqualTo(TOLERANCE);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
