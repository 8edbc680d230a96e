package dev.moba.attention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.backend.java.JavaBackend;
import dev.moba.config.AttentionMode;
import dev.moba.spi.BackendOptions;
import dev.moba.tensor.DType;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.ReferenceMoba;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Properties of {@link MobaAttention} on the Java backend, on N(0,1) data: streaming equivalence, dense limit, GQA,
 * varlen isolation and batch order, each also checked against {@link ReferenceMoba}. Every comparison, bf16 and
 * fp16 storage included, is within 1e-5: the engine computes in fp32 on the rounded inputs, which is what the
 * reference is given. Seeds are fixed so that runs are reproducible.
 */
class MobaAttentionPropertiesTest {

    private static final double TOLERANCE = 1e-5;

    private static JavaBackend inline;
    private static JavaBackend forkJoin;

    @BeforeContainer
    static void openBackends() {
        inline = new JavaBackend(new BackendOptions(1));
        forkJoin = new JavaBackend(new BackendOptions(2));
    }

    @AfterContainer
    static void closeBackends() {
        inline.close();
        forkJoin.close();
    }

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

    @Provide
    Arbitrary<Shape> shapes() {
        return Combinators.combine(
                // Uniform: the default bias towards small numbers would leave most sequences within one block.
                Arbitraries.integers().between(1, 600).withDistribution(RandomDistribution.uniform()),
                Arbitraries.integers().between(1, 2),
                Arbitraries.integers().between(1, 3),
                Arbitraries.of(1, 5, 16, 33, 64, 128),
                Arbitraries.of(1, 3, 16, 64, 100, 128),
                Arbitraries.integers().between(1, 5),
                Arbitraries.frequency(Tuple.of(2, DType.FP32), Tuple.of(1, DType.BF16), Tuple.of(1, DType.FP16)),
                Arbitraries.longs()).as(Shape::new);
    }

    @Provide
    Arbitrary<List<Integer>> lengths() {
        return Arbitraries.integers().between(1, 300).withDistribution(RandomDistribution.uniform()).list()
                .ofMinSize(2).ofMaxSize(4);
    }

    @Provide
    Arbitrary<Integer> prefills() {
        return Arbitraries.integers().between(0, 600).withDistribution(RandomDistribution.uniform());
    }

    @Property(tries = 120, seed = "20240601")
    void anyChunkingEqualsOneShot(@ForAll("shapes") Shape shape,
                                  @ForAll @Size(min = 1, max = 6) List<@IntRange(min = 1, max = 300) Integer> sizes,
                                  @ForAll boolean parallel) {
        Qkv data = shape.data();
        try (MobaAttention layer = Engine.layer(parallel ? forkJoin : inline, data, shape.blockSize(), shape.topK(),
                shape.dtype(), AttentionMode.MOBA)) {
            float[] oneShot = Engine.oneShot(layer, data);
            float[] chunked = Engine.chunked(layer, data, sizes.stream().mapToInt(Integer::intValue).toArray());
            assertThat(Errors.maxAbs(chunked, oneShot)).as("chunked vs one-shot").isLessThanOrEqualTo(TOLERANCE);
            assertMatchesReference(oneShot, shape, data, shape.topK());
        }
    }

    @Property(tries = 60, seed = "20240602")
    void decodeAfterPrefillEqualsOneShot(@ForAll("shapes") Shape shape, @ForAll("prefills") int prefill,
                                         @ForAll boolean parallel) {
        Qkv data = shape.data();
        int first = Math.min(prefill, shape.length());
        try (MobaAttention layer = Engine.layer(parallel ? forkJoin : inline, data, shape.blockSize(), shape.topK(),
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

    @Property(tries = 60, seed = "20240603")
    void topKCoveringEveryBlockIsDenseCausal(@ForAll("shapes") Shape shape, @ForAll @IntRange(max = 3) int extra,
                                             @ForAll @IntRange(max = 300) int chunk) {
        Qkv data = shape.data();
        int coveringTopK = shape.blocks() + extra;
        try (MobaAttention moba = Engine.layer(forkJoin, data, shape.blockSize(), coveringTopK, shape.dtype(),
                AttentionMode.MOBA);
             MobaAttention full = Engine.layer(forkJoin, data, shape.blockSize(), shape.topK(), shape.dtype(),
                     AttentionMode.FULL)) {
            float[] sparse = Engine.chunked(moba, data, Math.max(1, chunk));
            float[] dense = Engine.chunked(full, data, Math.max(1, chunk));
            assertThat(Errors.maxAbs(sparse, dense)).as("covering top-k vs full mode").isLessThanOrEqualTo(TOLERANCE);
            assertMatchesReference(dense, shape, data, ReferenceMoba.FULL);
        }
    }

    @Property(tries = 60, seed = "20240604")
    void groupedQueryAttentionEqualsRepeatedKv(@ForAll("shapes") Shape shape, @ForAll @IntRange(min = 2, max = 4) int group) {
        Shape gqa = new Shape(shape.length(), shape.kvHeads(), group, shape.dim(), shape.blockSize(), shape.topK(),
                shape.dtype(), shape.seed());
        Qkv data = gqa.data();
        Qkv repeated = data.repeatKv();
        float[] grouped;
        float[] expanded;
        try (MobaAttention layer = Engine.layer(forkJoin, data, gqa.blockSize(), gqa.topK(), gqa.dtype(),
                AttentionMode.MOBA)) {
            grouped = Engine.chunked(layer, data, 37);
        }
        try (MobaAttention layer = Engine.layer(forkJoin, repeated, gqa.blockSize(), gqa.topK(), gqa.dtype(),
                AttentionMode.MOBA)) {
            expanded = Engine.chunked(layer, repeated, 37);
        }
        assertThat(Errors.maxAbs(grouped, expanded)).as("GQA vs repeated kv").isLessThanOrEqualTo(TOLERANCE);
        assertMatchesReference(grouped, gqa, data, gqa.topK());
    }

    @Property(tries = 40, seed = "20240605")
    void sequencesOfABatchNeverSeeEachOther(@ForAll("shapes") Shape shape,
                                            @ForAll("lengths") List<Integer> lengths) {
        List<Qkv> sequences = sequences(shape, lengths);
        try (MobaAttention layer = Engine.layer(forkJoin, sequences.getFirst(), shape.blockSize(), shape.topK(),
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

    @Property(tries = 40, seed = "20240606")
    void permutingTheBatchPermutesTheOutputs(@ForAll("shapes") Shape shape,
                                             @ForAll("lengths") List<Integer> lengths,
                                             @ForAll long shuffleSeed) {
        List<Qkv> sequences = sequences(shape, lengths);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < sequences.size(); i++) {
            order.add(i);
        }
        java.util.Collections.shuffle(order, new java.util.Random(shuffleSeed));
        try (MobaAttention layer = Engine.layer(forkJoin, sequences.getFirst(), shape.blockSize(), shape.topK(),
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
