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
import dev.moba.tensor.DType;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The blocking {@link Session#call}: same outputs as the core, the caller's own thread doing the work, errors thrown. */
class SessionCallTest {

    private static final MobaConfig MOBA = new MobaConfig(16, 3, Float.NaN, DType.FP32, AttentionMode.MOBA);

    @Test
    void prefillThenDecodeThroughCallsEqualsTheCoreAndRunsOnTheCallingThread() {
        Qkv data = new RandomTensors(41).qkv(90, 4, 2, 16);
        ThreadRecordingBackend backend = new ThreadRecordingBackend();
        try (MobaEngine engine = MobaEngine.create(EngineRuns.config("moba.session.blocks-per-shard = 2"), backend);
             Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA))) {
            List<LayerOutput> outputs = new ArrayList<>();
            List<Set<Thread>> threadsPerCall = new ArrayList<>();
            for (LayerChunk chunk : EngineRuns.chunks(data, 0, DType.FP32, 40, 1, 1, 1, 1, 1, 1, 1, 1, 1)) {
                backend.attendThreads.clear();
                outputs.add(session.call(chunk));
                threadsPerCall.add(Set.copyOf(backend.attendThreads));
            }
            float[] out = EngineRuns.gather(session.spec().layout(), outputs).get(0);
            assertThat(Errors.maxAbs(out, EngineRuns.core(TestBackends.INLINE, MOBA, data)))
                    .isLessThanOrEqualTo(EngineRuns.MERGED);
            // A call that meets the session still busy on its event loop (the new session starting, or finishing
            // the chunk before) waits for the loop; once one call runs on the caller, the loop has nothing left.
            Set<Thread> caller = Set.of(Thread.currentThread());
            int firstDriven = threadsPerCall.indexOf(caller);
            assertThat(firstDriven).isBetween(0, 5);
            assertThat(threadsPerCall.subList(firstDriven, threadsPerCall.size())).containsOnly(caller);
        }
    }

    @Test
    void aRefusedCallThrowsItsErrorAndTheSessionGoesOn() {
        Qkv data = new RandomTensors(42).qkv(30, 4, 2, 16);
        try (MobaEngine engine = MobaEngine.create(EngineRuns.config(""), TestBackends.INLINE);
             Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA))) {
            List<LayerChunk> chunks = EngineRuns.chunks(data, 0, DType.FP32, 20, 10);
            LayerOutput first = session.call(chunks.get(0));
            LayerChunk rest = chunks.get(1);
            LayerChunk gap = new LayerChunk(0, 25, rest.q(), rest.k(), rest.v());
            assertThatThrownBy(() -> session.call(gap)).isInstanceOf(InvalidChunkException.class)
                    .hasMessageContaining("position 25");
            LayerOutput second = session.call(rest);
            float[] out = EngineRuns.gather(session.spec().layout(), List.of(first, second)).get(0);
            assertThat(Errors.maxAbs(out, EngineRuns.core(TestBackends.INLINE, MOBA, data)))
                    .isLessThanOrEqualTo(EngineRuns.SAME);
            session.close();
            assertThatThrownBy(() -> session.call(rest)).isInstanceOf(SessionClosedException.class);
        }
    }

    @Test
    void callersOnManyThreadsEachDriveTheirOwnSession() throws Exception {
        Qkv data = new RandomTensors(43).qkv(60, 4, 2, 16);
        float[] expected = EngineRuns.core(TestBackends.INLINE, MOBA, data);
        ExecutorService callers = Executors.newFixedThreadPool(8);
        try (MobaEngine engine = MobaEngine.create(EngineRuns.config(""), TestBackends.FORK_JOIN)) {
            List<Future<Double>> errors = new ArrayList<>();
            for (int s = 0; s < 8; s++) {
                int size = 1 + s * 3;
                errors.add(callers.submit(() -> {
                    try (Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA))) {
                        List<LayerOutput> outputs = new ArrayList<>();
                        for (LayerChunk chunk : EngineRuns.chunks(data, 0, DType.FP32, size)) {
                            outputs.add(session.call(chunk));
                        }
                        return Errors.maxAbs(EngineRuns.gather(session.spec().layout(), outputs).get(0), expected);
                    }
                }));
            }
            for (Future<Double> error : errors) {
                assertThat(error.get()).isLessThanOrEqualTo(EngineRuns.SAME);
            }
        } finally {
            callers.shutdownNow();
        }
    }

    /** The one-thread Java backend, noting the threads its attention ran on. */
    private static final class ThreadRecordingBackend implements Backend {

        final Set<Thread> attendThreads = ConcurrentHashMap.newKeySet();

        @Override
        public String id() {
            return "recording";
        }

        @Override
        public KvCache openCache(KvSpec spec) {
            return TestBackends.INLINE.openCache(spec);
        }

        @Override
        public List<Selection> gate(List<GateRequest> requests) {
            return TestBackends.INLINE.gate(requests);
        }

        @Override
        public List<Partials> attend(List<AttendPlan> plans, Arena arena) {
            attendThreads.add(Thread.currentThread());
            return TestBackends.INLINE.attend(plans, arena);
        }

        @Override
        public void close() {}
    }
}
