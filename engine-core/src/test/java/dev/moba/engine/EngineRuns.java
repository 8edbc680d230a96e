package dev.moba.engine;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.moba.attention.MobaAttention;
import dev.moba.attention.Sequence;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Qkv;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/** Runs data through the streaming engine and, for comparison, straight through the core. */
final class EngineRuns {

    /**
     * How far the engine may stray from the core on the same work. With one shard per layer both make the very
     * same backend calls, so they differ only by the JIT's rounding of repeated work (see the core's tests);
     * several shards merge partials in another order, a few ulps more.
     */
    static final double SAME = 1e-6;
    static final double MERGED = 1e-5;

    private EngineRuns() {}

    /** The default configuration with {@code overrides} (HOCON) on top. */
    static Config config(String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()).resolve();
    }

    /** An engine of its own on {@code backend} with {@code blocksPerShard}. */
    static MobaEngine engine(Backend backend, int blocksPerShard) {
        return MobaEngine.create(config("moba.session.blocks-per-shard = " + blocksPerShard), backend);
    }

    static HeadLayout layout(Qkv data) {
        return new HeadLayout(data.qHeads(), data.kvHeads(), data.dim());
    }

    /** The core's one-shot output of {@code data} for one layer configured by {@code config}. */
    static float[] core(Backend backend, MobaConfig config, Qkv data) {
        try (MobaAttention layer = new MobaAttention(config, layout(data), backend);
             Sequence sequence = layer.openSequence();
             Arena arena = Arena.ofConfined()) {
            DType dtype = config.dtype();
            Tensor out = layer.forward(sequence, data.q(arena, dtype, 0, data.tokens()),
                    data.k(arena, dtype, 0, data.tokens()), data.v(arena, dtype, 0, data.tokens()), arena);
            return out.toFloatArray();
        }
    }

    /** The chunks of {@code data} for {@code layer}, cut at the given sizes (cycled), in shared memory. */
    static List<LayerChunk> chunks(Qkv data, int layer, DType dtype, int... sizes) {
        return chunksFrom(0, data, layer, dtype, sizes);
    }

    /** {@link #chunks} for data that continues a layer at {@code start}. */
    static List<LayerChunk> chunksFrom(int start, Qkv data, int layer, DType dtype, int... sizes) {
        Arena arena = Arena.ofAuto();
        List<LayerChunk> chunks = new ArrayList<>();
        int position = 0;
        for (int i = 0; position < data.tokens(); i++) {
            int n = Math.min(sizes[i % sizes.length], data.tokens() - position);
            chunks.add(new LayerChunk(layer, start + position, data.q(arena, dtype, position, position + n),
                    data.k(arena, dtype, position, position + n), data.v(arena, dtype, position, position + n)));
            position += n;
        }
        return chunks;
    }

    /** Streams {@code chunks} through {@code session}'s flow and gathers each layer's output, by layer. */
    static Map<Integer, float[]> stream(MobaEngine engine, Session session, List<LayerChunk> chunks)
            throws Exception {
        List<LayerOutput> outputs = Source.from(chunks).via(session.flow())
                .runWith(Sink.seq(), engine.system()).toCompletableFuture().get(2, TimeUnit.MINUTES);
        return gather(session.spec().layout(), outputs);
    }

    /** Concatenates outputs per layer, checking they follow on in position order. */
    static Map<Integer, float[]> gather(HeadLayout layout, List<LayerOutput> outputs) {
        Map<Integer, List<float[]>> parts = new TreeMap<>();
        Map<Integer, Integer> next = new HashMap<>();
        for (LayerOutput out : outputs) {
            int expected = next.getOrDefault(out.layer(), out.position());
            if (out.position() != expected) {
                throw new AssertionError("layer " + out.layer() + " output at " + out.position() + ", expected "
                        + expected);
            }
            next.put(out.layer(), expected + out.output().tokens());
            parts.computeIfAbsent(out.layer(), l -> new ArrayList<>()).add(out.output().toFloatArray());
        }
        Map<Integer, float[]> whole = new TreeMap<>();
        parts.forEach((l, list) -> {
            int size = list.stream().mapToInt(a -> a.length).sum();
            float[] all = new float[size];
            int at = 0;
            for (float[] a : list) {
                System.arraycopy(a, 0, all, at, a.length);
                at += a.length;
            }
            whole.put(l, all);
        });
        return whole;
    }
}
