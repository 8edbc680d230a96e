package dev.moba.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.config.AttentionMode;
import dev.moba.config.MobaConfig;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.FaultyBackend;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every kind of bad input gets its typed error and leaves the session's accepted KV intact: after the refusal the
 * session gives exactly what a twin that never saw the bad chunk gives.
 */
class SessionBadInputTest {

    private static final int BLOCK = 8;
    private static final int PREFIX = 21;
    private static final MobaConfig MOBA = new MobaConfig(BLOCK, 2, Float.NaN, DType.FP32, AttentionMode.MOBA);

    private final Qkv data = new RandomTensors(7).qkv(64, 4, 2, 8);
    private final FaultyBackend backend = new FaultyBackend();
    private MobaEngine engine;
    private Session session;
    private Session twin;

    @BeforeEach
    void open() throws Exception {
        engine = EngineRuns.engine(backend, 2);
        SessionSpec spec = SessionSpec.of(2, EngineRuns.layout(data), MOBA);
        session = engine.openSession(spec);
        twin = engine.openSession(spec);
        for (Session s : List.of(session, twin)) {
            for (LayerChunk chunk : EngineRuns.chunks(data.slice(0, PREFIX), 0, DType.FP32, 5)) {
                s.forward(chunk).toCompletableFuture().get();
            }
        }
    }

    @AfterEach
    void close() {
        engine.close();
    }

    @Test
    void positionsOutOfOrderAreRefused() {
        assertRefused(InvalidChunkException.class, "chunk starts at position 22 but layer 0 of session",
                chunkAt(PREFIX + 1, 0, 3));
        assertRefused(InvalidChunkException.class, "chunk starts at position 20 but layer 0", chunkAt(PREFIX - 1, 0, 3));
        assertRefused(InvalidChunkException.class, "chunk starts at position 21 but layer 1 of session",
                chunkAt(PREFIX, 1, 3));
        assertIntact();
    }

    @Test
    void aLayerThatDoesNotExistIsRefused() {
        assertRefused(InvalidChunkException.class, "layer 2 does not exist: session", chunkAt(PREFIX, 2, 3));
        assertRefused(InvalidChunkException.class, "layer -1 does not exist", chunkAt(PREFIX, -1, 3));
        assertIntact();
    }

    @Test
    void shapesThatDisagreeWithTheSessionAreRefused() {
        Arena arena = Arena.ofAuto();
        Tensor q = data.q(arena, DType.FP32, PREFIX, PREFIX + 3);
        Tensor k = data.k(arena, DType.FP32, PREFIX, PREFIX + 3);
        Tensor wrongHeads = Tensor.allocate(arena, DType.FP32, 3, 3, 8);
        Tensor wrongDim = Tensor.allocate(arena, DType.FP32, 3, 2, 16);
        Tensor shortV = data.v(arena, DType.FP32, PREFIX, PREFIX + 2);
        assertRefused(InvalidChunkException.class, "q has shape [3, 3, 8] but the layer expects [n, 4, 8]",
                new LayerChunk(0, PREFIX, wrongHeads, k, k));
        assertRefused(InvalidChunkException.class, "k has shape [3, 2, 16] but the layer expects [n, 2, 8]",
                new LayerChunk(0, PREFIX, q, wrongDim, k));
        assertRefused(InvalidChunkException.class, "q, k and v must have the same number of tokens, got 3, 3, 2",
                new LayerChunk(0, PREFIX, q, k, shortV));
        assertRefused(InvalidChunkException.class, "v is missing", new LayerChunk(0, PREFIX, q, k, null));
        assertIntact();
    }

    @Test
    void outputsTheEngineCannotWriteAreRefused() {
        LayerChunk chunk = chunkAt(PREFIX, 0, 3);
        assertRefused(InvalidChunkException.class, "the output has shape [2, 4, 8] in fp32 but the chunk's output is "
                + "fp32 [3, 4, 8]", chunk.into(Tensor.allocate(Arena.ofAuto(), DType.FP32, 2, 4, 8)));
        assertRefused(InvalidChunkException.class, "the output has shape [3, 4, 8] in bf16",
                chunk.into(Tensor.allocate(Arena.ofAuto(), DType.BF16, 3, 4, 8)));
        try (Arena confined = Arena.ofConfined()) {
            assertRefused(InvalidChunkException.class, "the output is in thread-confined memory",
                    chunk.into(Tensor.allocate(confined, DType.FP32, 3, 4, 8)));
        }
        assertIntact();
    }

    @Test
    void nonFiniteValuesAreRefused() {
        LayerChunk chunk = chunkAt(PREFIX, 0, 3);
        chunk.v().set(2, 1, 5, Float.NaN);
        assertRefused(InvalidChunkException.class, "v (layer 0 of session " + session.id()
                + ") holds NaN at [token 2, head 1, dim 5]", chunk);
        assertIntact();
    }

    @Test
    void closedAndUnknownSessionsAreRefused() {
        session.close();
        assertRefused(SessionClosedException.class, "session " + session.id() + " is closed", chunkAt(PREFIX, 0, 1));
        assertThatThrownBy(() -> engine.forward(session.id(), chunkAt(PREFIX, 0, 1)).toCompletableFuture().get())
                .cause().isInstanceOf(SessionClosedException.class).hasMessage("no open session " + session.id()
                        + " on this engine");
        assertThatThrownBy(() -> engine.forward("nope", chunkAt(PREFIX, 0, 1)).toCompletableFuture().get())
                .cause().isInstanceOf(SessionClosedException.class).hasMessageContaining("no open session nope");
        assertThat(engine.memory().bySession()).doesNotContainKey(session.id());
    }

    /** The stream fails with the backend's error, the session reports it and goes on, other sessions are untouched. */
    @Test
    void aBackendFailureFailsTheStreamAndIsUndone() throws Exception {
        // 11 tokens from 21: seal block 2 (positions 16..23) and open block 3, across a shard boundary.
        backend.attendFailure = new IllegalStateException("attend failed");
        List<LayerChunk> chunks = EngineRuns.chunks(data.slice(PREFIX, PREFIX + 11), 0, DType.FP32, 11).stream()
                .map(c -> new LayerChunk(0, PREFIX, c.q(), c.k(), c.v())).toList();
        CompletionStage<List<LayerOutput>> run = Source.from(chunks).via(session.flow())
                .runWith(Sink.seq(), engine.system());
        assertThatThrownBy(() -> run.toCompletableFuture().get(1, TimeUnit.MINUTES))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(BackendException.class)
                .hasMessageContaining("the backend failed on layer 0 of session " + session.id())
                .cause().isInstanceOf(IllegalStateException.class).hasMessage("attend failed");
        backend.attendFailure = null;

        SessionInfo info = session.info().toCompletableFuture().get();
        assertThat(info.failures()).isEqualTo(1);
        assertThat(info.lastFailure()).hasValueSatisfying(m -> assertThat(m).contains("attend failed"));
        assertIntact();
    }

    @Test
    void aChunkPastTheMemoryBudgetIsRefusedAndUndone() throws Exception {
        long perSession = session.bytesReserved();
        try (MobaEngine tight = MobaEngine.create(EngineRuns.config("moba.session.blocks-per-shard = 2\n"
                + "moba.memory.budget = " + (2 * perSession)), backend)) {
            SessionSpec spec = SessionSpec.of(2, EngineRuns.layout(data), MOBA);
            Session full = tight.openSession(spec);
            Session control = tight.openSession(spec);
            for (Session s : List.of(full, control)) {
                for (LayerChunk chunk : EngineRuns.chunks(data.slice(0, PREFIX), 0, DType.FP32, 5)) {
                    s.forward(chunk).toCompletableFuture().get();
                }
            }
            long used = tight.memory().used();
            // Block 2 has room for 3 more tokens; a fourth needs a new block, and the budget is spent.
            assertThatThrownBy(() -> full.forward(chunkAt(PREFIX, 0, 11)).toCompletableFuture().get())
                    .cause().isInstanceOf(MemoryBudgetException.class)
                    .hasMessageContaining("appending")
                    .hasMessageContaining("moba.memory.budget");
            assertThat(tight.memory().used()).isEqualTo(used);
            assertThat(full.info().toCompletableFuture().get().lengths()).containsExactly(PREFIX, 0);
            float[] fullOut = full.forward(chunkAt(PREFIX, 0, 3)).toCompletableFuture().get().output().toFloatArray();
            float[] controlOut = control.forward(chunkAt(PREFIX, 0, 3)).toCompletableFuture().get().output()
                    .toFloatArray();
            assertThat(Errors.maxAbs(fullOut, controlOut)).isLessThanOrEqualTo(EngineRuns.SAME);
            full.close();
            assertThat(tight.memory().used()).isEqualTo(control.bytesReserved());
        }
    }

    /** The session and its twin give the same outputs for the rest of the data: nothing was left behind. */
    private void assertIntact() {
        try {
            assertThat(session.info().toCompletableFuture().get().lengths()).containsExactly(PREFIX, 0);
            assertThat(session.bytesReserved()).isEqualTo(twin.bytesReserved());
            Function<Session, float[]> rest = s -> {
                try {
                    return EngineRuns.stream(engine, s, EngineRuns.chunksFrom(PREFIX, data.slice(PREFIX, 64), 0,
                            DType.FP32, 9, 1)).get(0);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            };
            assertThat(Errors.maxAbs(rest.apply(session), rest.apply(twin))).isLessThanOrEqualTo(EngineRuns.SAME);
        } catch (InterruptedException | ExecutionException e) {
            throw new AssertionError(e);
        }
    }

    private void assertRefused(Class<? extends MobaException> type, String message, LayerChunk chunk) {
        assertThatThrownBy(() -> session.forward(chunk).toCompletableFuture().get(1, TimeUnit.MINUTES))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(type).hasMessageContaining(message);
    }

    private LayerChunk chunkAt(int position, int layer, int tokens) {
        Arena arena = Arena.ofAuto();
        int from = Math.max(0, Math.min(position, data.tokens() - tokens));
        return new LayerChunk(layer, position, data.q(arena, DType.FP32, from, from + tokens),
                data.k(arena, DType.FP32, from, from + tokens), data.v(arena, DType.FP32, from, from + tokens));
    }
}
