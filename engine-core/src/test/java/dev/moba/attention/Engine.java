package dev.moba.attention;

import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Qkv;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/** Runs test data through {@link MobaAttention} and collects the outputs as float arrays. */
final class Engine {

    /**
     * How far two runs of the very same computation may differ. The Java backend's Vector API exponentials and
     * lane reductions round differently in interpreted and JIT-compiled code, so repeating a computation during a
     * run can move outputs by a few ulps (2.4e-7 observed); any real difference in state or selection moves them
     * by orders of magnitude more.
     */
    static final double SAME = 1e-6;

    private Engine() {}

    /** A layer over {@code data}'s head geometry with the default scale. */
    static MobaAttention layer(Backend backend, Qkv data, int blockSize, int topK, DType dtype, AttentionMode mode) {
        var config = new MobaConfig(blockSize, topK, Float.NaN, dtype, mode);
        return new MobaAttention(config, new HeadLayout(data.qHeads(), data.kvHeads(), data.dim()), backend);
    }

    /** Feeds {@code data} into a new sequence of {@code layer} in chunks of {@code sizes} (cycled), one per call. */
    static float[] chunked(MobaAttention layer, Qkv data, int... sizes) {
        try (Sequence sequence = layer.openSequence()) {
            return feed(layer, sequence, data, sizes);
        }
    }

    /** Feeds {@code data} whole into a new sequence. */
    static float[] oneShot(MobaAttention layer, Qkv data) {
        return chunked(layer, data, Math.max(1, data.tokens()));
    }

    /** Feeds {@code data} into {@code sequence} in chunks of {@code sizes} (cycled) and returns the outputs. */
    static float[] feed(MobaAttention layer, Sequence sequence, Qkv data, int... sizes) {
        DType dtype = layer.config().dtype();
        int row = data.qHeads() * data.dim();
        float[] out = new float[data.tokens() * row];
        int position = 0;
        for (int i = 0; position < data.tokens(); i++) {
            int n = Math.min(sizes[i % sizes.length], data.tokens() - position);
            try (Arena arena = Arena.ofConfined()) {
                Tensor o = layer.forward(sequence, data.q(arena, dtype, position, position + n),
                        data.k(arena, dtype, position, position + n), data.v(arena, dtype, position, position + n),
                        arena);
                System.arraycopy(o.toFloatArray(), 0, out, position * row, n * row);
            }
            position += n;
        }
        return out;
    }

    /** Feeds every sequence whole, as one batch in the given order, and returns their outputs in that order. */
    static List<float[]> batch(MobaAttention layer, List<Qkv> sequences) {
        DType dtype = layer.config().dtype();
        List<Sequence> opened = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            List<Chunk> chunks = new ArrayList<>();
            for (Qkv data : sequences) {
                Sequence sequence = layer.openSequence();
                opened.add(sequence);
                chunks.add(new Chunk(sequence, data.q(arena, dtype, 0, data.tokens()),
                        data.k(arena, dtype, 0, data.tokens()), data.v(arena, dtype, 0, data.tokens())));
            }
            List<float[]> outputs = new ArrayList<>();
            for (Tensor o : layer.forward(chunks, arena)) {
                outputs.add(o.toFloatArray());
            }
            return outputs;
        } finally {
            opened.forEach(Sequence::close);
        }
    }
}
