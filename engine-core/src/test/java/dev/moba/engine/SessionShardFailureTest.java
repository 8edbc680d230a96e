package dev.moba.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.config.AttentionMode;
import dev.moba.config.MobaConfig;
import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.merge.Partials;
import dev.moba.plan.AttendPlan;
import dev.moba.spi.Backend;
import dev.moba.spi.KvCache;
import dev.moba.spi.KvSpec;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Errors a backend cannot contain: an error fails the chunk only; a lost shard is reported, never hidden. */
class SessionShardFailureTest {

    private static final MobaConfig MOBA = new MobaConfig(8, 2, Float.NaN, DType.FP32, AttentionMode.MOBA);

    private final Qkv data = new RandomTensors(9).qkv(40, 4, 2, 8);
    private final ThrowingBackend backend = new ThrowingBackend();

    @Test
    void anErrorInTheBackendFailsOnlyThatChunk() throws Exception {
        try (MobaEngine engine = EngineRuns.engine(backend, 2)) {
            Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA));
            List<LayerChunk> chunks = EngineRuns.chunks(data, 0, DType.FP32, 10);
            session.forward(chunks.get(0)).toCompletableFuture().get(1, TimeUnit.MINUTES);
            backend.failure.set(() -> new AssertionError("kernel assertion"));
            assertThatThrownBy(() -> session.forward(chunks.get(1)).toCompletableFuture().get(1, TimeUnit.MINUTES))
                    .isInstanceOf(ExecutionException.class).cause().isInstanceOf(BackendException.class)
                    .hasMessageContaining("kernel assertion");
            backend.failure.set(null);
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
            backend.failure.set(() -> new IllegalStateException("attend failed"));
            backend.truncateFails = true;
            assertThatThrownBy(() -> lost.forward(chunks.get(1)).toCompletableFuture().get(1, TimeUnit.MINUTES))
                    .isInstanceOf(ExecutionException.class).cause().isInstanceOf(BackendException.class)
                    .hasMessageContaining("lost shard").hasMessageContaining("of layer 0");
            backend.failure.set(null);
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

    /** The Java backend, whose attention throws what it is told to, and whose caches may refuse to truncate. */
    private static final class ThrowingBackend implements Backend {

        final AtomicReference<Supplier<Throwable>> failure = new AtomicReference<>();
        volatile boolean truncateFails;

        @Override
        public String id() {
            return "throwing";
        }

        @Override
        public KvCache openCache(KvSpec spec) {
            return new TruncateFailing(TestBackends.INLINE.openCache(spec));
        }

        @Override
        public List<Selection> gate(List<GateRequest> requests) {
            return TestBackends.INLINE.gate(requests);
        }

        @Override
        public List<Partials> attend(List<AttendPlan> plans, Arena arena) {
            Supplier<Throwable> thrown = failure.get();
            if (thrown != null) {
                sneakyThrow(thrown.get());
            }
            return TestBackends.INLINE.attend(plans.stream().map(p -> new AttendPlan(((TruncateFailing) p.cache()).cache,
                    p.queries(), p.firstPosition(), p.scale(), p.layout(), p.tasksByKvHead())).toList(), arena);
        }

        @Override
        public void close() {}

        /** A Java cache whose truncation fails while {@link #truncateFails} is set. */
        private final class TruncateFailing implements KvCache {

            final KvCache cache;

            TruncateFailing(KvCache cache) {
                this.cache = cache;
            }

            @Override
            public KvSpec spec() {
                return cache.spec();
            }

            @Override
            public int length() {
                return cache.length();
            }

            @Override
            public List<SealedBlock> append(Tensor k, Tensor v) {
                return cache.append(k, v);
            }

            @Override
            public void truncate(int length) {
                if (truncateFails) {
                    throw new IllegalStateException("truncate failed");
                }
                cache.truncate(length);
            }

            @Override
            public Tensor readKeys(Arena arena, int from, int to) {
                return cache.readKeys(arena, from, to);
            }

            @Override
            public Tensor readValues(Arena arena, int from, int to) {
                return cache.readValues(arena, from, to);
            }

            @Override
            public long bytesToAppend(int tokens) {
                return cache.bytesToAppend(tokens);
            }

            @Override
            public long bytesReserved() {
                return cache.bytesReserved();
            }

            @Override
            public void close() {
                cache.close();
            }
        }

        @SuppressWarnings("unchecked")
        private static <T extends Throwable> void sneakyThrow(Throwable t) throws T {
            throw (T) t;
        }
    }
}
