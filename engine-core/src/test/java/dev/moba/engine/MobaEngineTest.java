package dev.moba.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.config.AttentionMode;
import dev.moba.config.MobaConfig;
import dev.moba.tensor.DType;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/** Creating and closing engines: from configuration, inside an application's actor system, with bad settings. */
class MobaEngineTest {

    private static final MobaConfig MOBA = new MobaConfig(16, 3, Float.NaN, DType.FP32, AttentionMode.MOBA);

    @Test
    void anEngineFromConfigurationOpensItsBackendAndRuns() throws Exception {
        Qkv data = new RandomTensors(21).qkv(70, 4, 2, 16);
        try (MobaEngine engine = MobaEngine.create(EngineRuns.config("moba.backend = java\nmoba.threads = 2"));
             Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA))) {
            assertThat(engine.backendId()).isEqualTo("java");
            float[] out = EngineRuns.stream(engine, session, EngineRuns.chunks(data, 0, DType.FP32, 25)).get(0);
            assertThat(Errors.maxAbs(out, EngineRuns.core(TestBackends.INLINE, MOBA, data)))
                    .isLessThanOrEqualTo(EngineRuns.SAME);
        }
    }

    @Test
    void eventLoopsThatSleepAtOnceRunTheSame() throws Exception {
        Qkv data = new RandomTensors(23).qkv(50, 4, 2, 16);
        try (MobaEngine engine = MobaEngine.create(EngineRuns.config("moba.session.spin-before-sleep = 0"),
                TestBackends.INLINE);
             Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA))) {
            float[] out = EngineRuns.stream(engine, session, EngineRuns.chunks(data, 0, DType.FP32, 1)).get(0);
            assertThat(Errors.maxAbs(out, EngineRuns.core(TestBackends.INLINE, MOBA, data)))
                    .isLessThanOrEqualTo(EngineRuns.SAME);
        }
    }

    @Test
    void anEngineJoinsTheApplicationsActorSystemAndLeavesItRunning() throws Exception {
        Qkv data = new RandomTensors(22).qkv(40, 4, 2, 16);
        ActorSystem<Void> application = ActorSystem.create(Behaviors.empty(), "application",
                EngineRuns.config("moba.backend = java"));
        try {
            MobaEngine engine = MobaEngine.create(EngineRuns.config("moba.backend = java"), application);
            Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA));
            float[] out = EngineRuns.stream(engine, session, EngineRuns.chunks(data, 0, DType.FP32, 9)).get(0);
            assertThat(Errors.maxAbs(out, EngineRuns.core(TestBackends.INLINE, MOBA, data)))
                    .isLessThanOrEqualTo(EngineRuns.SAME);
            engine.close();
            assertThat(engine.memory().used()).isZero();
            assertThat(application.getWhenTerminated().toCompletableFuture().isDone()).isFalse();
            assertThatThrownBy(() -> engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), MOBA)))
                    .isInstanceOf(IllegalStateException.class).hasMessage("the engine is closed");
        } finally {
            application.terminate();
        }
    }

    @Test
    void badSettingsNameTheKey() {
        assertThatThrownBy(() -> MobaEngine.create(EngineRuns.config("moba.session.blocks-per-shard = 0"),
                TestBackends.INLINE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("moba.session.blocks-per-shard must be >= 1, got 0");
        assertThatThrownBy(() -> MobaEngine.create(EngineRuns.config("moba.session.spin-before-sleep = -1 ms"),
                TestBackends.INLINE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("moba.session.spin-before-sleep must be >= 0");
        assertThatThrownBy(() -> MobaEngine.create(EngineRuns.config("moba.memory.budget = lots"),
                TestBackends.INLINE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad engine configuration").hasMessageContaining("memory.budget");
        assertThatThrownBy(() -> MobaEngine.create(EngineRuns.config("moba.backend = nonesuch")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nonesuch");
    }

    @Test
    void aSessionSpecRefusesWhatCannotBe() {
        assertThatThrownBy(() -> SessionSpec.of(0, EngineRuns.layout(new RandomTensors(1).qkv(1, 4, 2, 8)), MOBA))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one layer");
        SessionSpec two = SessionSpec.of(2, EngineRuns.layout(new RandomTensors(1).qkv(1, 4, 2, 8)), MOBA);
        assertThatThrownBy(() -> two.withLastLayersFull(3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cannot make 3 of 2 layers full");
        assertThat(two.withLastLayersFull(1).layer(1).mode()).isEqualTo(AttentionMode.FULL);
        assertThat(two.withLastLayersFull(1).layer(0).mode()).isEqualTo(AttentionMode.MOBA);
    }
}
