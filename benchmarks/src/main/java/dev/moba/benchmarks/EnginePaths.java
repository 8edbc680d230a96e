package dev.moba.benchmarks;

import com.typesafe.config.ConfigFactory;
import dev.moba.attention.MobaAttention;
import dev.moba.attention.Sequence;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.engine.LayerChunk;
import dev.moba.engine.MobaEngine;
import dev.moba.engine.Session;
import dev.moba.engine.SessionSpec;
import dev.moba.memory.SlabArena;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * One layer of one document, fed either through the streaming engine (session actor, block shard, futures) or
 * straight through the core ({@link MobaAttention}), on the same backend: the two sides of the overhead
 * benchmarks. Both write each chunk's output into memory they reuse, as a model writes into its activation
 * buffers: the engine into a buffer the chunk names ({@link LayerChunk#into}), the core into a slab arena reset
 * per call.
 */
sealed interface EnginePaths extends AutoCloseable {

    /** Opens the path named {@code engine} or {@code core}. */
    static EnginePaths open(String path, Backend backend, MobaConfig config, HeadLayout layout) {
        return switch (path) {
            case "engine" -> new Streamed(backend, config, layout);
            case "core" -> new Direct(backend, config, layout);
            default -> throw new IllegalArgumentException("path must be engine or core, got " + path);
        };
    }

    /** Starts a new document, closing the previous one. */
    void restart();

    /** Runs the next chunk and returns one element of its output, so that nothing is optimised away. */
    float forward(BenchData chunk);

    /** Feeds the document the first {@code tokens} tokens of {@code data}, {@code chunk} at a time. */
    default float prefill(BenchData data, int tokens, int chunk) {
        float last = 0;
        for (int from = 0; from < tokens; from += chunk) {
            last = forward(data.slice(from, Math.min(tokens, from + chunk)));
        }
        return last;
    }

    @Override
    void close();

    final class Streamed implements EnginePaths {
        private final MobaEngine engine;
        private final SessionSpec spec;
        private final Arena buffers = Arena.ofShared();
        private Tensor output;
        private Session session;

        Streamed(Backend backend, MobaConfig config, HeadLayout layout) {
            this.engine = MobaEngine.create(ConfigFactory.load(), backend);
            this.spec = SessionSpec.of(1, layout, config);
            restart();
        }

        @Override
        public void restart() {
            if (session != null) {
                session.close();
            }
            session = engine.openSession(spec);
        }

        @Override
        public float forward(BenchData chunk) {
            int tokens = chunk.q().tokens();
            if (output == null || output.tokens() < tokens) {
                output = Tensor.allocate(buffers, DType.FP32, tokens, chunk.q().heads(), chunk.q().dim());
            }
            Tensor out = session.forward(LayerChunk.next(0, chunk.q(), chunk.k(), chunk.v())
                    .into(output.slice(0, tokens))).toCompletableFuture().join().output();
            return out.get(out.tokens() - 1, 0, 0);
        }

        @Override
        public void close() {
            engine.close();
            buffers.close();
        }
    }

    final class Direct implements EnginePaths {
        private final MobaAttention layer;
        private final SlabArena outputs = new SlabArena(1 << 20);
        private Sequence sequence;

        Direct(Backend backend, MobaConfig config, HeadLayout layout) {
            this.layer = new MobaAttention(config, layout, backend);
            restart();
        }

        @Override
        public void restart() {
            if (sequence != null) {
                sequence.close();
            }
            sequence = layer.openSequence();
        }

        @Override
        public float forward(BenchData chunk) {
            outputs.reset();
            Tensor out = layer.forward(sequence, chunk.q(), chunk.k(), chunk.v(), outputs);
            return out.get(out.tokens() - 1, 0, 0);
        }

        @Override
        public void close() {
            layer.close();
            outputs.close();
        }
    }
}
