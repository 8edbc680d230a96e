package dev.moba.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.config.AttentionMode;
import dev.moba.config.MobaConfig;
import dev.moba.tensor.DType;
import dev.moba.testing.Errors;
import dev.moba.testing.FaultyBackend;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Errors a backend cannot contain: an error fails the chunk only; a lost shard is reported, never hidden. */
class SessionShardFailureTest {

    private static final MobaConfig MOBA = new MobaConfig(8, 2, Float.NaN, DType.FP32, AttentionMode.MOBA);

    private final Qkv data = new RandomTensors(9).qkv(40, 4, 2, 8);
    private final FaultyBackend backend = new FaultyBackend();

    @Test
    void anErrorInTheBackendFailsOnlyThatChunk() throws Exception {
        try (MobaEngine engine = EngineRuns.engine(backend, 2)) {
            Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA));
            List<LayerChunk> chunks = EngineRuns.chunks(data, 0, DType.FP32, 10);
            session.forward(chunks.get(0)).toCompletableFuture().get(1, TimeUnit.MINUTES);
            backend.attendFailure = new AssertionError("kernel assertion");
            assertThatThrownBy(() -> session.forward(chunks.get(1)).toCompletableFuture().get(1, TimeUnit.MINUTES))
                    .isInstanceOf(ExecutionException.class).cause().isInstanceOf(BackendException.class)
                    .hasMessageContaining("kernel assertion");
            backend.attendFailure = null;
            float[] rest = EngineRuns.gather(session.spec().layout(), List.of(
                    session.forward(chunks.get(1)).toCompletableFuture().get(1, TimeUnit.MINUTES),
                    session.forward(chunks.get(2)).toCompletableFuture().get(1, TimeUnit.MINUTES))).get(0);
            float[] expected = EngineRuns.core(TestBackends.INLINE, MOBA, data);
            float[] expectedRest = Arrays.copyOfRange(expected, 10 * 4 * 8, 30 * 4 * 8);
            assertThat(Errors.maxAbs(rest, expectedRest)).isLessThanOrEqualTo(EngineRuns.SAME);
        }
    }

    /** A chunk fails, and undoing it fails too: the shard stops, and its session says it has lost KV. */
    @Test
    void aShardThatStopsBreaksItsSessionVisibly() throws Exception {
        try (MobaEngine engine = EngineRuns.engine(backend, 2)) {
            Session lost = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA));
            Session other = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA));
            List<LayerChunk> chunks = EngineRuns.chunks(data, 0, DType.FP32, 10);
            lost.forward(chunks.get(0)).toCompletableFuture().get(1, TimeUnit.MINUTES);
            backend.attendFailure = new IllegalStateException("attend failed");
            backend.truncateFails = true;
            assertThatThrownBy(() -> lost.forward(chunks.get(1)).toCompletableFuture().get(1, TimeUnit.MINUTES))
                    .isInstanceOf(ExecutionException.class).cause().isInstanceOf(BackendException.class)
                    .hasMessageContaining("lost shard").hasMessageContaining("of layer 0");
            backend.attendFailure = null;
            backend.truncateFails = false;
            assertThatThrownBy(() -> lost.forward(chunks.get(1)).toCompletableFuture().get(1, TimeUnit.MINUTES))
                    .cause().isInstanceOf(MobaException.class).hasMessageContaining("close the session");
            float[] out = EngineRuns.stream(engine, other, chunks).get(0);
            assertThat(Errors.maxAbs(out, EngineRuns.core(TestBackends.INLINE, MOBA, data)))
                    .isLessThanOrEqualTo(EngineRuns.SAME);
            lost.close();
            other.close();
            assertThat(engine.memory().used()).isZero();
        }
    }
}
