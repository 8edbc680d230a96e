package dev.moba.demo;

import dev.moba.config.HeadLayout;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * The q, k and v of a synthetic document with structure for the gating to find: the document is a run of segments
 * (a quarter to two blocks long), each about one of {@link #TOPICS} topics, the first topics recurring far more
 * often than the last (weights {@code 1/(topic+1)}). A token's key and query carry its topic's direction (per layer
 * and kv head) plus N(0,1) noise, so a query scores highest against the mean keys of blocks about its own topic;
 * values carry a second direction per topic.
 *
 * <p>Every value is a pure function of the seed and its coordinates, so any range can be produced in any order,
 * again and again (the reference and the selection replay regenerate what the engine was fed). Noise is read from
 * one pool of N(0,1) numbers at a hashed offset per (part, layer, token, head): producing a row costs a copy.
 * Construction costs the pool (a few MiB) and one topic per position. Thread-safe once built.
 */
public final class SyntheticDocument {

    /** What a tensor holds. */
    public enum Part { QUERY, KEY, VALUE }

    /** Distinct topics. */
    public static final int TOPICS = 8;

    private static final float QUERY_SIGNAL = 8f;
    private static final float KEY_SIGNAL = 4f;
    private static final float VALUE_SIGNAL = 2f;

    private final DemoSpec spec;
    private final float[] noise;
    /** Unit directions, {@code [layer][kvHead][topic][dim]} flattened; keys and queries share them. */
    private final float[] keyDirections;
    private final float[] valueDirections;
    private final byte[] topics;

    public SyntheticDocument(DemoSpec spec) {
        this.spec = spec;
        int dim = spec.layout().headDim();
        Random random = new Random(spec.seed());
        this.noise = new float[Math.max(1 << 20, 4 * dim)];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (float) random.nextGaussian();
        }
        int directions = spec.layers() * spec.layout().kvHeads() * TOPICS;
        this.keyDirections = unitVectors(random, directions, dim);
        this.valueDirections = unitVectors(random, directions, dim);
        this.topics = topicsOf(new SplittableRandom(spec.seed() ^ 0x5DEECE66DL), spec.length(), spec.blockSize());
    }

    public DemoSpec spec() {
        return spec;
    }

    /** The topic of the token at {@code position}. */
    public int topic(int position) {
        return topics[position];
    }

    /** The topic most tokens of {@code block} are about (the lower one on a tie). */
    public int mainTopic(int block) {
        int[] counts = new int[TOPICS];
        int end = Math.min(spec.length(), (block + 1) * spec.blockSize());
        for (int p = block * spec.blockSize(); p < end; p++) {
            counts[topics[p]]++;
        }
        int best = 0;
        for (int t = 1; t < TOPICS; t++) {
            if (counts[t] > counts[best]) {
                best = t;
            }
        }
        return best;
    }

    /** Heads of a tensor of {@code part}: query heads for queries, kv heads otherwise. */
    public int heads(Part part) {
        return part == Part.QUERY ? spec.layout().qHeads() : spec.layout().kvHeads();
    }

    /**
     * Writes {@code part} of {@code layer} for positions {@code [from, from + count)} into {@code dst} as fp32
     * {@code [count][heads][headDim]}, rounded to {@code storage} as the engine stores it.
     */
    public void fill(Part part, int layer, int from, int count, DType storage, float[] dst) {
        HeadLayout layout = spec.layout();
        int dim = layout.headDim();
        int heads = heads(part);
        float signal = switch (part) {
            case QUERY -> QUERY_SIGNAL;
            case KEY -> KEY_SIGNAL;
            case VALUE -> VALUE_SIGNAL;
        };
        float[] directions = part == Part.VALUE ? valueDirections : keyDirections;
        for (int i = 0; i < count; i++) {
            int position = from + i;
            for (int h = 0; h < heads; h++) {
                int kvHead = part == Part.QUERY ? layout.kvHeadOf(h) : h;
                int direction = ((layer * layout.kvHeads() + kvHead) * TOPICS + topics[position]) * dim;
                int offset = noiseOffset(part, layer, position, h);
                int row = (i * heads + h) * dim;
                for (int d = 0; d < dim; d++) {
                    dst[row + d] = signal * directions[direction + d] + noise[offset + d];
                }
            }
        }
        storage.roundInPlace(dst);
    }

    /** {@link #fill} into a new fp32 tensor in {@code arena}. */
    public Tensor tensor(Part part, int layer, int from, int count, DType storage, Arena arena) {
        int heads = heads(part);
        int dim = spec.layout().headDim();
        float[] values = new float[count * heads * dim];
        fill(part, layer, from, count, storage, values);
        Tensor tensor = Tensor.allocate(arena, DType.FP32, count, heads, dim);
        MemorySegment.copy(values, 0, tensor.segment(), ValueLayout.JAVA_FLOAT, 0, values.length);
        return tensor;
    }

    private int noiseOffset(Part part, int layer, int position, int head) {
        long key = ((((long) part.ordinal() * 65_537 + layer) * 1_000_000_007L + position) * 4_099 + head);
        return (int) Long.remainderUnsigned(mix(spec.seed() * 0x9E3779B97F4A7C15L + key),
                noise.length - spec.layout().headDim());
    }

    /** The splitmix64 finaliser: neighbouring keys land far apart. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static float[] unitVectors(Random random, int count, int dim) {
        float[] vectors = new float[count * dim];
        for (int v = 0; v < count; v++) {
            double norm = 0;
            for (int d = 0; d < dim; d++) {
                double x = random.nextGaussian();
                vectors[v * dim + d] = (float) x;
                norm += x * x;
            }
            float inverse = (float) (1 / Math.sqrt(norm));
            for (int d = 0; d < dim; d++) {
                vectors[v * dim + d] *= inverse;
            }
        }
        return vectors;
    }

    /** Segments of a quarter to two blocks, each on a topic drawn by weight {@code 1/(topic+1)}, never twice in a row. */
    private static byte[] topicsOf(SplittableRandom random, int length, int blockSize) {
        double[] cumulative = new double[TOPICS];
        double total = 0;
        for (int t = 0; t < TOPICS; t++) {
            total += 1.0 / (t + 1);
            cumulative[t] = total;
        }
        byte[] topics = new byte[length];
        int minimum = Math.max(1, blockSize / 4);
        int previous = -1;
        for (int position = 0; position < length; ) {
            int segment = minimum + random.nextInt(Math.max(1, 2 * blockSize - minimum));
            int topic;
            do {
                double u = random.nextDouble() * total;
                topic = 0;
                while (cumulative[topic] < u) {
                    topic++;
                }
            } while (topic == previous);
            int end = Math.min(length, position + segment);
            for (int p = position; p < end; p++) {
                topics[p] = (byte) topic;
            }
            previous = topic;
            position = end;
        }
        return topics;
    }
}
