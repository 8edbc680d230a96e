package dev.moba.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.config.AttentionMode;
import dev.moba.config.MobaConfig;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The streaming path gives the core's numbers, whatever the chunking, sharding and concurrency. */
class SessionStreamTest {

    private static final int BLOCK = 16;

    static Stream<Arguments> chunkings() {
        return IntStream.range(0, 6).boxed().flatMap(seed -> Stream.of(1, 3, 1024).map(shards -> Arguments.of(seed,
                shards)));
    }

    /**
     * Two layers (the second dense), chunks of random sizes with the layers interleaved as a model sends them,
     * then decode steps: every layer's output equals the core's one-shot output.
     */
    @ParameterizedTest(name = "seed {0}, {1} blocks per shard")
    @MethodSource("chunkings")
    void streamedChunksEqualOneShotCore(int seed, int blocksPerShard) throws Exception {
        Random random = new Random(seed);
        int tokens = 120 + random.nextInt(120);
        Qkv data = new RandomTensors(seed).qkv(tokens, 4, 2, 16);
        MobaConfig moba = new MobaConfig(BLOCK, 3, Float.NaN, DType.FP32, AttentionMode.MOBA);
        SessionSpec spec = SessionSpec.of(2, EngineRuns.layout(data), moba).withLastLayersFull(1);

        int prefill = tokens - 12;
        int[] sizes = random.ints(40, 1, 50).toArray();
        List<LayerChunk> chunks = new ArrayList<>();
        List<List<LayerChunk>> perLayer = List.of(
                EngineRuns.chunks(data.slice(0, prefill), 0, DType.FP32, sizes),
                EngineRuns.chunks(data.slice(0, prefill), 1, DType.FP32, sizes));
        for (int i = 0; i < perLayer.get(0).size(); i++) {
            chunks.add(perLayer.get(0).get(i));
            chunks.add(perLayer.get(1).get(i));
        }
        List<LayerChunk> decode0 = EngineRuns.chunksFrom(prefill, data.slice(prefill, tokens), 0, DType.FP32, 1);
        List<LayerChunk> decode1 = EngineRuns.chunksFrom(prefill, data.slice(prefill, tokens), 1, DType.FP32, 1);
        for (int i = 0; i < decode0.size(); i++) {
            chunks.add(decode0.get(i));
            chunks.add(decode1.get(i));
        }

        try (MobaEngine engine = EngineRuns.engine(TestBackends.FORK_JOIN, blocksPerShard);
             Session session = engine.openSession(spec)) {
            Map<Integer, float[]> outputs = EngineRuns.stream(engine, session, chunks);
            double tolerance = blocksPerShard * BLOCK >= tokens ? EngineRuns.SAME : EngineRuns.MERGED;
            assertThat(Errors.maxAbs(outputs.get(0), EngineRuns.core(TestBackends.INLINE, moba, data)))
                    .isLessThanOrEqualTo(tolerance);
            assertThat(Errors.maxAbs(outputs.get(1), EngineRuns.core(TestBackends.INLINE,
                    moba.withMode(AttentionMode.FULL), data))).isLessThanOrEqualTo(tolerance);
            assertThat(session.info().toCompletableFuture().get().lengths()).containsExactly(tokens, tokens);
        }
    }

    @Test
    void perLayerFlowAndFuturesGiveTheSameOutputs() throws Exception {
        Qkv data = new RandomTensors(11).qkv(100, 4, 4, 8);
        MobaConfig moba = new MobaConfig(BLOCK, 2, Float.NaN, DType.BF16, AttentionMode.MOBA);
        float[] expected = EngineRuns.core(TestBackends.INLINE, moba, data);
        try (MobaEngine engine = EngineRuns.engine(TestBackends.INLINE, 2);
             Session streamed = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), moba));
             Session called = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), moba))) {
            List<Tokens> tokens = EngineRuns.chunks(data, 0, DType.BF16, 7, 30, 1).stream()
                    .map(c -> new Tokens(c.q(), c.k(), c.v())).toList();
            List<LayerOutput> viaFlow = Source.from(tokens).via(streamed.flow(0))
                    .runWith(Sink.seq(), engine.system()).toCompletableFuture().get(1, TimeUnit.MINUTES);
            List<LayerOutput> viaCalls = new ArrayList<>();
            for (LayerChunk chunk : EngineRuns.chunks(data, 0, DType.BF16, 7, 30, 1)) {
                viaCalls.add(called.forward(chunk).toCompletableFuture().get(1, TimeUnit.MINUTES));
            }
            float[] flowOut = EngineRuns.gather(streamed.spec().layout(), viaFlow).get(0);
            float[] callOut = EngineRuns.gather(called.spec().layout(), viaCalls).get(0);
            assertThat(Errors.maxAbs(flowOut, expected)).isLessThanOrEqualTo(EngineRuns.MERGED);
            assertThat(Errors.maxAbs(callOut, expected)).isLessThanOrEqualTo(EngineRuns.MERGED);
        }
    }

    /** Outputs written into the caller's buffer (answered by one shard, or merged from several) equal the core's. */
    @ParameterizedTest(name = "{0} blocks per shard")
    @ValueSource(ints = {1, 1024})
    void outputsGoIntoTheCallersBuffer(int blocksPerShard) throws Exception {
        Qkv data = new RandomTensors(12).qkv(90, 4, 2, 8);
        MobaConfig moba = new MobaConfig(BLOCK, 3, Float.NaN, DType.FP32, AttentionMode.MOBA);
        float[] expected = EngineRuns.core(TestBackends.INLINE, moba, data);
        try (Arena arena = Arena.ofShared();
             MobaEngine engine = EngineRuns.engine(TestBackends.INLINE, blocksPerShard);
             Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data), moba))) {
            Tensor buffer = Tensor.allocate(arena, DType.FP32, data.tokens(), 4, 8);
            for (LayerChunk chunk : EngineRuns.chunks(data, 0, DType.FP32, 13, 1, 40)) {
                Tensor into = buffer.slice(chunk.position(), chunk.position() + chunk.tokens());
                LayerOutput out = session.forward(chunk.into(into)).toCompletableFuture().get(1, TimeUnit.MINUTES);
                assertThat(out.output()).isSameAs(into);
            }
            assertThat(Errors.maxAbs(buffer.toFloatArray(), expected)).isLessThanOrEqualTo(EngineRuns.MERGED);
        }
    }

    /** 32 sessions of different lengths streamed at once give what each gives alone. */
    @Test
    void concurrentSessionsEqualEachAlone() throws Exception {
        MobaConfig moba = new MobaConfig(BLOCK, 3, Float.NaN, DType.FP32, AttentionMode.MOBA);
        int sessions = 32;
        List<Qkv> data = new ArrayList<>();
        Random random = new Random(32);
        for (int s = 0; s < sessions; s++) {
            data.add(new RandomTensors(100 + s).qkv(20 + random.nextInt(160), 4, 2, 16));
        }
        try (MobaEngine engine = EngineRuns.engine(TestBackends.FORK_JOIN, 4)) {
            List<Session> opened = new ArrayList<>();
            List<CompletableFuture<List<LayerOutput>>> runs = new ArrayList<>();
            for (int s = 0; s < sessions; s++) {
                Session session = engine.openSession(SessionSpec.of(1, EngineRuns.layout(data.get(s)), moba));
                opened.add(session);
                List<LayerChunk> chunks = EngineRuns.chunks(data.get(s), 0, DType.FP32, 1 + s % 5, 17, 64);
                runs.add(Source.from(chunks).via(session.flow()).runWith(Sink.seq(), engine.system())
                        .toCompletableFuture());
            }
            for (int s = 0; s < sessions; s++) {
                float[] out = EngineRuns.gather(opened.get(s).spec().layout(), runs.get(s).get(2, TimeUnit.MINUTES))
                        .get(0);
                assertThat(Errors.maxAbs(out, EngineRuns.core(TestBackends.INLINE, moba, data.get(s))))
                        .as("session %d", s).isLessThanOrEqualTo(EngineRuns.MERGED);
            }
            opened.forEach(Session::close);
            assertThat(engine.memory().used()).isZero();
        }
    }
}
