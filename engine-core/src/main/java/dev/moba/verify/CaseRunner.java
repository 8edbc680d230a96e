package dev.moba.verify;

import dev.moba.attention.Chunk;
import dev.moba.attention.MobaAttention;
import dev.moba.attention.Sequence;
import dev.moba.config.AttentionMode;
import dev.moba.config.MobaConfig;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a reference case through {@link MobaAttention} and compares the output with the expected one.
 *
 * <p>One-shot ({@code chunk == 0}) feeds every sequence whole, as one varlen batch. Chunked feeds the sequences
 * side by side, each batch holding the next {@code chunk} tokens of every sequence that has any left, so batching,
 * block boundaries inside and across chunks, and decode-sized steps are all exercised.
 */
public final class CaseRunner {

    private final Backend backend;
    private final DType dtype;
    private final int chunk;

    /**
     * @param chunk tokens per step, or 0 for one-shot
     */
    public CaseRunner(Backend backend, DType dtype, int chunk) {
        if (chunk < 0) throw new IllegalArgumentException("chunk must be >= 0 (0 = one-shot), got " + chunk);
        this.backend = backend;
        this.dtype = dtype;
        this.chunk = chunk;
    }

    /** Runs {@code c} and returns the engine's output, fp32 {@code [tokens, qHeads, headDim]} in {@code arena}. */
    public Tensor output(GoldenCase c, Arena arena) {
        var config = new MobaConfig(c.blockSize(), c.topK(), c.scale(), dtype, AttentionMode.MOBA);
        Tensor out = Tensor.allocate(arena, DType.FP32, c.q().tokens(), c.layout().qHeads(), c.layout().headDim());
        try (var layer = new MobaAttention(config, c.layout(), backend)) {
            List<Sequence> sequences = new ArrayList<>();
            for (int s = 0; s < c.sequences(); s++) {
                sequences.add(layer.openSequence());
            }
            int longest = 0;
            for (int s = 0; s < c.sequences(); s++) {
                longest = Math.max(longest, c.cuSeqlens()[s + 1] - c.cuSeqlens()[s]);
            }
            int stepTokens = chunk == 0 ? longest : chunk;
            for (int offset = 0; offset < longest; offset += stepTokens) {
                List<Chunk> batch = new ArrayList<>();
                List<Integer> starts = new ArrayList<>();
                for (int s = 0; s < c.sequences(); s++) {
                    int from = c.cuSeqlens()[s] + offset;
                    int to = Math.min(c.cuSeqlens()[s + 1], from + stepTokens);
                    if (from < to) {
                        batch.add(new Chunk(sequences.get(s), c.q().slice(from, to), c.k().slice(from, to),
                                c.v().slice(from, to)));
                        starts.add(from);
                    }
                }
                try (Arena step = Arena.ofConfined()) {
                    List<Tensor> outputs = layer.forward(batch, step);
                    for (int i = 0; i < outputs.size(); i++) {
                        Tensor o = outputs.get(i);
                        MemorySegment.copy(o.segment(), 0, out.slice(starts.get(i), starts.get(i) + o.tokens())
                                .segment(), 0, o.segment().byteSize());
                    }
                }
            }
        }
        return out;
    }

    /** Runs {@code c} and compares with its expected output under the dtype's {@link Tolerance}. */
    public CaseResult run(GoldenCase c) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor out = output(c, arena);
            float[] actual = out.toFloatArray();
            float[] expected = c.expected().toFloatArray();
            double max = 0;
            double sum = 0;
            for (int i = 0; i < actual.length; i++) {
                double diff = Math.abs((double) actual[i] - expected[i]);
                if (Double.isNaN(diff) || diff > max) max = diff; // once NaN, max stays NaN
                sum += diff;
            }
            boolean pass = Tolerance.of(dtype).accepts(max, sum / Math.max(1, actual.length));
            return new CaseResult(c.name(), actual.length, max, sum, pass);
        }
    }
}
