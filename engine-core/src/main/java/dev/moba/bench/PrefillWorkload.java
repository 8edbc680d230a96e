package dev.moba.bench;

import dev.moba.config.HeadLayout;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * One prefill to time: a sequence of {@code tokens} queries, keys and values drawn from N(0, 1) with a fixed seed,
 * and the work MoBA and dense causal attention need for it.
 *
 * @param tokens    sequence length
 * @param layout    heads and head dimension
 * @param blockSize tokens per block
 * @param topK      blocks each query reads, its own included
 */
public record PrefillWorkload(int tokens, HeadLayout layout, int blockSize, int topK) {

    /** Values drawn per random stream: streams are independent, so the data is filled in parallel, reproducibly. */
    private static final int STREAM_VALUES = 1 << 20;

    public PrefillWorkload {
        if (tokens < 1) throw new IllegalArgumentException("tokens must be >= 1, got " + tokens);
        if (blockSize < 1) throw new IllegalArgumentException("block size must be >= 1, got " + blockSize);
        if (topK < 1) throw new IllegalArgumentException("top-k must be >= 1, got " + topK);
    }

    /** Query-key pairs MoBA attends: per query, its top-(K-1) complete history blocks and its causal prefix. */
    public long mobaPairs() {
        long perHead = 0;
        for (long t = 0; t < tokens; t++) {
            long history = Math.min(t / blockSize, topK - 1L) * blockSize;
            perHead += history + t % blockSize + 1;
        }
        return perHead * layout.qHeads();
    }

    /** Query-key pairs dense causal attention attends. */
    public long densePairs() {
        return (long) tokens * (tokens + 1L) / 2 * layout.qHeads();
    }

    /** Floating-point operations of {@code pairs} query-key pairs: {@code 4 * headDim} each (two products). */
    public double flops(long pairs) {
        return 4.0 * layout.headDim() * pairs;
    }

    /** Queries {@code [tokens, qHeads, headDim]} drawn from N(0, 1), fp32, in {@code arena}. */
    public Tensor queries(Arena arena, long seed) {
        return normal(arena, layout.qHeads(), seed);
    }

    /** Keys or values {@code [tokens, kvHeads, headDim]} drawn from N(0, 1), fp32, in {@code arena}. */
    public Tensor keysOrValues(Arena arena, long seed) {
        return normal(arena, layout.kvHeads(), seed);
    }

    private Tensor normal(Arena arena, int heads, long seed) {
        Tensor tensor = Tensor.allocate(arena, DType.FP32, tokens, heads, layout.headDim());
        MemorySegment segment = tensor.segment();
        long size = tensor.size();
        int streams = (int) ((size + STREAM_VALUES - 1) / STREAM_VALUES);
        IntStream.range(0, streams).parallel().forEach(s -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + s);
            long end = Math.min(size, (long) (s + 1) * STREAM_VALUES);
            for (long i = (long) s * STREAM_VALUES; i < end; i++) {
                segment.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
            }
        });
        return tensor;
    }
}
