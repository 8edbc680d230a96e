package dev.moba.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.config.AttentionMode;
import dev.moba.config.MobaConfig;
import dev.moba.spi.KvCache;
import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.Test;

/** The engine's accounting follows its real memory: bounded under back-pressure, zero once closed. */
class SessionMemoryTest {

    private static final int BLOCK = 16;
    private static final MobaConfig MOBA = new MobaConfig(BLOCK, 3, Float.NaN, DType.FP32, AttentionMode.MOBA);

    /**
     * A consumer that takes one output at a time, slowly: the session never runs more than a couple of chunks
     * ahead of it, so the KV the engine holds grows with what was consumed, not with what the source could send.
     */
    @Test
    void aSlowConsumerKeepsEngineMemoryBounded() throws Exception {
        int chunks = 40;
        Qkv data = new RandomTensors(3).qkv(chunks * BLOCK, 4, 2, 16);
        long perChunk;
        try (KvCache probe = TestBackends.INLINE.openCache(new KvSpec(2, 16, BLOCK, DType.FP32))) {
            perChunk = probe.bytesToAppend(BLOCK);
        }
        try (MobaEngine engine = EngineRuns.engine(TestBackends.INLINE, 4);
             Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA))) {
            List<long[]> seen = new ArrayList<>();
            int[] consumed = {0};
            Source.from(EngineRuns.chunks(data, 0, DType.FP32, BLOCK)).via(session.flow())
                    .runWith(Sink.foreach(out -> {
                        consumed[0]++;
                        Thread.sleep(15);
                        seen.add(new long[] {consumed[0], engine.memory().used()});
                    }), engine.system())
                    .toCompletableFuture().get(1, TimeUnit.MINUTES);
            assertThat(consumed[0]).isEqualTo(chunks);
            // The summaries only grow, so the final figure bounds them all along.
            long summaries = engine.memory().used() - chunks * perChunk;
            for (long[] point : seen) {
                // At most the chunk being consumed, the one in flight and the one the flow has pulled.
                assertThat(point[1]).as("after %d outputs", point[0])
                        .isLessThanOrEqualTo((point[0] + 2) * perChunk + summaries);
            }
        }
    }

    @Test
    void closingASessionReturnsItsMemoryAndClosingTheEngineReturnsAll() throws Exception {
        Qkv data = new RandomTensors(4).qkv(100, 4, 2, 16);
        MobaEngine engine = EngineRuns.engine(TestBackends.INLINE, 2);
        SessionSpec spec = SessionSpec.of(3, EngineRuns.layout(data), MOBA);
        Session closed = engine.openSession(spec);
        Session left = engine.openSession(spec);
        for (Session s : List.of(closed, left)) {
            for (int layer = 0; layer < 3; layer++) {
                EngineRuns.stream(engine, s, EngineRuns.chunks(data, layer, DType.FP32, 33));
            }
        }
        assertThat(closed.bytesReserved()).isPositive().isEqualTo(left.bytesReserved());
        assertThat(engine.memory().used()).isEqualTo(2 * left.bytesReserved());
        long both = engine.memory().used();

        closed.close();
        assertThat(closed.bytesReserved()).isZero();
        assertThat(engine.memory().bySession()).containsOnlyKeys(left.id());
        assertThat(engine.memory().used()).isEqualTo(left.bytesReserved());

        engine.close();
        assertThat(engine.memory().used()).isZero();
        assertThat(engine.memory().bySession()).isEmpty();
        assertThat(engine.memory().peak()).isEqualTo(both);
    }
}
