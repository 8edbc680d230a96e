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
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * One layer of one document, fed either through the streaming engine (session actor, block shard, a blocking
 * {@link Session#call}, as a model's forward pass on the JVM would call it) or
 * straight through the core ({@link MobaAttention}), on the same backend: the two sides of the overhead
 * benchmarks. Both write each chunk's output into a buffer they reuse ({@link OutputBuffer}), as a model writes into
 * its activation buffers: the engine through {@link LayerChunk#into}, the core through
 * {@link MobaAttention#forward(Sequence, Tensor, Tensor, Tensor, Tensor)}.
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
        private final OutputBuffer output = new OutputBuffer();
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
            Tensor out = session.call(LayerChunk.next(0, chunk.q(), chunk.k(), chunk.v()).into(output.of(chunk)))
                    .output();
            return out.get(out.tokens() - 1, 0, 0);
        }

        @Override
        public void close() {
            engine.close();
            output.close();
        }
    }

    final class Direct implements EnginePaths {
        private final MobaAttention layer;
        private final OutputBuffer output = new OutputBuffer();
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
            Tensor out = output.of(chunk);
            layer.forward(sequence, chunk.q(), chunk.k(), chunk.v(), out);
            return out.get(out.tokens() - 1, 0, 0);
        }

        @Override
        public void close() {
            layer.close();
            output.close();
        }
    }

    /** An fp32 output buffer in shared memory, grown to the largest chunk seen and reused for every chunk. */
    final class OutputBuffer implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private Tensor buffer;

        /** The buffer's first {@code chunk.q().tokens()} rows, shaped as the chunk's output. */
        Tensor of(BenchData chunk) {
            int tokens = chunk.q().tokens();
            if (buffer == null || buffer.tokens() < tokens) {
                buffer = Tensor.allocate(arena, DType.FP32, tokens, chunk.q().heads(), chunk.q().dim());
            }
            return buffer.slice(0, tokens);
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
