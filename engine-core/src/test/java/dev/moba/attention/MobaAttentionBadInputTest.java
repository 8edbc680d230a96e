package dev.moba.attention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.config.AttentionMode;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rejected calls: each must throw {@link IllegalArgumentException} naming the problem and leave every sequence as
 * it was: same length, blocks and stored keys and values as a sequence that never saw the bad call, and the same
 * output for the next chunk.
 */
class MobaAttentionBadInputTest {

    private static final int PREFIX = 5;
    private static final int NEXT = 12;
    private static final DType F32 = DType.FP32;

    private final Qkv a = new RandomTensors(1).qkv(NEXT, 4, 2, 4);
    private final Qkv b = new RandomTensors(2).qkv(NEXT, 4, 2, 4);
    private MobaAttention layer;
    private Sequence victim;
    private Sequence victimControl;
    private Sequence bystander;
    private Sequence bystanderControl;

    @BeforeEach
    void prefill() {
        layer = Engine.layer(TestBackends.FORK_JOIN, a, 3, 2, F32, AttentionMode.MOBA);
        victim = layer.openSequence();
        victimControl = layer.openSequence();
        bystander = layer.openSequence();
        bystanderControl = layer.openSequence();
        Engine.feed(layer, victim, a.slice(0, PREFIX), 2, 3);
        Engine.feed(layer, victimControl, a.slice(0, PREFIX), PREFIX);
        Engine.feed(layer, bystander, b.slice(0, PREFIX), 4, 1);
        Engine.feed(layer, bystanderControl, b.slice(0, PREFIX), PREFIX);
    }

    @AfterEach
    void closeLayer() {
        layer.close();
    }

    /** A call expected to be rejected; {@code t} holds the test's state. */
    @FunctionalInterface
    interface BadCall {
        void call(MobaAttentionBadInputTest t, Arena arena);
    }

    /** A valid next chunk (4 tokens) of the victim. */
    private Chunk victimChunk(Arena arena) {
        return new Chunk(victim, a.q(arena, F32, PREFIX, PREFIX + 4), a.k(arena, F32, PREFIX, PREFIX + 4),
                a.v(arena, F32, PREFIX, PREFIX + 4));
    }

    private Chunk bystanderChunk(Arena arena) {
        return new Chunk(bystander, b.q(arena, F32, PREFIX, PREFIX + 4), b.k(arena, F32, PREFIX, PREFIX + 4),
                b.v(arena, F32, PREFIX, PREFIX + 4));
    }

    /** The victim's next chunk with one tensor replaced. */
    private void forwardVictimWith(Arena arena, String which, Tensor replacement) {
        Chunk c = victimChunk(arena);
        layer.forward(victim, which.equals("q") ? replacement : c.q(), which.equals("k") ? replacement : c.k(),
                which.equals("v") ? replacement : c.v(), arena);
    }

    /** The victim's next chunk, its output written into {@code out}. */
    private void forwardVictimInto(Arena arena, Tensor out) {
        Chunk c = victimChunk(arena);
        layer.forward(victim, c.q(), c.k(), c.v(), out);
    }

    /** The victim's next chunk with {@code value} written into {@code which} at {@code [token, head, dim]}. */
    private void forwardVictimWithValue(Arena arena, String which, float value, int... at) {
        Chunk c = victimChunk(arena);
        Tensor target = which.equals("q") ? c.q() : which.equals("k") ? c.k() : c.v();
        for (int i = 0; i < at.length; i += 3) {
            target.set(at[i], at[i + 1], at[i + 2], value);
        }
        layer.forward(List.of(c), arena);
    }

    private static Tensor zeros(Arena arena, int tokens, int heads, int dim) {
        return Tensor.allocate(arena, F32, tokens, heads, dim);
    }

    static List<Arguments> badCalls() {
        List<Arguments> cases = new ArrayList<>();
        add(cases, "q with the kv head count", "q has shape [4, 2, 4] but the layer expects [n, 4, 4]",
                (t, arena) -> t.forwardVictimWith(arena, "q", zeros(arena, 4, 2, 4)));
        add(cases, "k with the query head count", "k has shape [4, 4, 4] but the layer expects [n, 2, 4]",
                (t, arena) -> t.forwardVictimWith(arena, "k", zeros(arena, 4, 4, 4)));
        add(cases, "q of another head dim", "q has shape [4, 4, 5] but the layer expects [n, 4, 4]",
                (t, arena) -> t.forwardVictimWith(arena, "q", zeros(arena, 4, 4, 5)));
        add(cases, "v of another head dim", "v has shape [4, 2, 3] but the layer expects [n, 2, 4]",
                (t, arena) -> t.forwardVictimWith(arena, "v", zeros(arena, 4, 2, 3)));
        add(cases, "k with more tokens", "q, k and v must have the same number of tokens, got 4, 5, 4",
                (t, arena) -> t.forwardVictimWith(arena, "k", zeros(arena, 5, 2, 4)));
        add(cases, "v with fewer tokens", "q, k and v must have the same number of tokens, got 4, 4, 3",
                (t, arena) -> t.forwardVictimWith(arena, "v", zeros(arena, 3, 2, 4)));
        add(cases, "q missing", "q is missing", (t, arena) -> t.forwardVictimWith(arena, "q", null));
        add(cases, "NaN in q", "q holds NaN at [token 1, head 3, dim 0]",
                (t, arena) -> t.forwardVictimWithValue(arena, "q", Float.NaN, 1, 3, 0));
        add(cases, "NaN in k", "k holds NaN at [token 3, head 1, dim 2]",
                (t, arena) -> t.forwardVictimWithValue(arena, "k", Float.NaN, 3, 1, 2));
        add(cases, "NaN in v", "v holds NaN at [token 0, head 0, dim 0]",
                (t, arena) -> t.forwardVictimWithValue(arena, "v", Float.NaN, 0, 0, 0));
        add(cases, "infinity in q", "q holds Infinity at [token 3, head 3, dim 3]",
                (t, arena) -> t.forwardVictimWithValue(arena, "q", Float.POSITIVE_INFINITY, 3, 3, 3));
        add(cases, "infinity in k", "k holds -Infinity at [token 2, head 0, dim 1]",
                (t, arena) -> t.forwardVictimWithValue(arena, "k", Float.NEGATIVE_INFINITY, 2, 0, 1));
        add(cases, "infinity in v", "v holds Infinity at [token 0, head 1, dim 3]",
                (t, arena) -> t.forwardVictimWithValue(arena, "v", Float.POSITIVE_INFINITY, 0, 1, 3));
        add(cases, "two NaNs in k: the first is named", "k holds NaN at [token 1, head 0, dim 3]",
                (t, arena) -> t.forwardVictimWithValue(arena, "k", Float.NaN, 2, 1, 0, 1, 0, 3));
        add(cases, "a bad chunk after a good one", "k (chunk 1) holds NaN at [token 0, head 1, dim 1]",
                (t, arena) -> {
                    Chunk bad = t.bystanderChunk(arena);
                    bad.k().set(0, 1, 1, Float.NaN);
                    t.layer.forward(List.of(t.victimChunk(arena), bad), arena);
                });
        add(cases, "a closed sequence", "sequence is closed", (t, arena) -> {
            Sequence closed = t.layer.openSequence();
            closed.close();
            Chunk c = t.victimChunk(arena);
            t.layer.forward(closed, c.q(), c.k(), c.v(), arena);
        });
        add(cases, "a closed sequence in a batch", "sequence is closed (chunk 2)", (t, arena) -> {
            Sequence closed = t.layer.openSequence();
            closed.close();
            Chunk c = t.victimChunk(arena);
            t.layer.forward(List.of(c, t.bystanderChunk(arena), new Chunk(closed, c.q(), c.k(), c.v())), arena);
        });
        add(cases, "a sequence of another layer in a batch", "sequence does not belong to this layer (chunk 1)",
                (t, arena) -> {
                    try (MobaAttention other = Engine.layer(TestBackends.FORK_JOIN, t.a, 3, 2, F32, AttentionMode.MOBA)) {
                        Chunk c = t.victimChunk(arena);
                        t.layer.forward(List.of(t.bystanderChunk(arena),
                                new Chunk(other.openSequence(), c.q(), c.k(), c.v())), arena);
                    }
                });
        add(cases, "the same sequence twice in a batch", "a sequence appears twice in one batch (chunk 2)",
                (t, arena) -> t.layer.forward(
                        List.of(t.victimChunk(arena), t.bystanderChunk(arena), t.victimChunk(arena)), arena));
        add(cases, "a gap in positions", "chunk starts at position 6 but the sequence holds 5 tokens",
                (t, arena) -> {
                    Chunk c = t.victimChunk(arena);
                    t.layer.forward(List.of(new Chunk(t.victim, PREFIX + 1, c.q(), c.k(), c.v())), arena);
                });
        add(cases, "a repeated position in a batch", "chunk starts at position 3 but the sequence holds 5 tokens"
                + ": positions must follow on without gaps or repeats (chunk 1)", (t, arena) -> {
                    Chunk c = t.bystanderChunk(arena);
                    t.layer.forward(List.of(t.victimChunk(arena), new Chunk(t.bystander, PREFIX - 2, c.q(), c.k(),
                            c.v())), arena);
                });
        add(cases, "an output of another shape",
                "the output has shape [4, 2, 4] in fp32 but the chunk's output is fp32 [4, 4, 4]",
                (t, arena) -> t.forwardVictimInto(arena, zeros(arena, 4, 2, 4)));
        add(cases, "an output for more tokens", "the output has shape [5, 4, 4] in fp32",
                (t, arena) -> t.forwardVictimInto(arena, zeros(arena, 5, 4, 4)));
        add(cases, "an output in bf16", "the output has shape [4, 4, 4] in bf16",
                (t, arena) -> t.forwardVictimInto(arena, Tensor.allocate(arena, DType.BF16, 4, 4, 4)));
        add(cases, "a read-only output", "the output tensor is read-only", (t, arena) -> t.forwardVictimInto(arena,
                Tensor.wrap(zeros(arena, 4, 4, 4).segment().asReadOnly(), F32, 4, 4, 4)));
        add(cases, "a null sequence", "sequence does not belong to this layer",
                (t, arena) -> {
                    Chunk c = t.victimChunk(arena);
                    t.layer.forward(null, c.q(), c.k(), c.v(), arena);
                });
        return cases;
    }

    private static void add(List<Arguments> cases, String name, String message, BadCall call) {
        cases.add(Arguments.of(Named.of(name, call), message));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badCalls")
    void rejectedCallNamesTheProblemAndChangesNothing(BadCall call, String message) {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> call.call(this, arena)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(message);
        }
        assertThat(victim.length()).isEqualTo(PREFIX);
        assertThat(bystander.length()).isEqualTo(PREFIX);
        assertThat(victim.sealedBlocks()).isEqualTo(victimControl.sealedBlocks());
        assertThat(bystander.sealedBlocks()).isEqualTo(bystanderControl.sealedBlocks());
        assertThat(victim.bytesReserved()).isEqualTo(victimControl.bytesReserved());

        assertSameState(victim, victimControl);
        assertSameState(bystander, bystanderControl);

        Qkv restA = a.slice(PREFIX, NEXT);
        Qkv restB = b.slice(PREFIX, NEXT);
        assertThat(Errors.maxAbs(Engine.feed(layer, victim, restA, NEXT - PREFIX),
                Engine.feed(layer, victimControl, restA, NEXT - PREFIX))).isLessThanOrEqualTo(Engine.SAME);
        assertThat(Errors.maxAbs(Engine.feed(layer, bystander, restB, NEXT - PREFIX),
                Engine.feed(layer, bystanderControl, restB, NEXT - PREFIX))).isLessThanOrEqualTo(Engine.SAME);
        assertThat(victim.length()).isEqualTo(NEXT);
        assertSameState(victim, victimControl);
    }

    /** Same length, blocks and stored keys and values, bit for bit. */
    private static void assertSameState(Sequence actual, Sequence expected) {
        assertThat(actual.length()).isEqualTo(expected.length());
        assertThat(actual.sealedBlocks()).isEqualTo(expected.sealedBlocks());
        assertThat(actual.bytesReserved()).isEqualTo(expected.bytesReserved());
        try (Arena arena = Arena.ofConfined()) {
            assertThat(actual.cache().readKeys(arena, 0, actual.length()).toFloatArray())
                    .containsExactly(expected.cache().readKeys(arena, 0, expected.length()).toFloatArray());
            assertThat(actual.cache().readValues(arena, 0, actual.length()).toFloatArray())
                    .containsExactly(expected.cache().readValues(arena, 0, expected.length()).toFloatArray());
        }
    }

    @Test
    void aStatedPositionThatFollowsOnIsAccepted() {
        try (Arena arena = Arena.ofConfined()) {
            Chunk next = victimChunk(arena);
            Tensor stated = layer.forward(List.of(new Chunk(victim, PREFIX, next.q(), next.k(), next.v())), arena)
                    .getFirst();
            Tensor unstated = layer.forward(victimControl, next.q(), next.k(), next.v(), arena);
            assertThat(Errors.maxAbs(stated.toFloatArray(), unstated.toFloatArray())).isLessThanOrEqualTo(Engine.SAME);
            assertThat(victim.length()).isEqualTo(PREFIX + 4);
        }
        assertThatThrownBy(() -> new Chunk(victim, -2, null, null, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("position must be >= 0 (or Chunk.NEXT), got -2");
    }

    @Test
    void aSequenceOfAnotherLayerIsLeftAlone() {
        try (MobaAttention other = Engine.layer(TestBackends.FORK_JOIN, a, 3, 2, F32, AttentionMode.MOBA);
             Arena arena = Arena.ofConfined()) {
            Sequence foreign = other.openSequence();
            Sequence control = other.openSequence();
            Engine.feed(other, foreign, a.slice(0, PREFIX), PREFIX);
            Engine.feed(other, control, a.slice(0, PREFIX), PREFIX);
            Chunk c = victimChunk(arena);
            assertThatThrownBy(() -> layer.forward(foreign, c.q(), c.k(), c.v(), arena))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sequence does not belong to this layer");
            assertSameState(foreign, control);
            Qkv rest = a.slice(PREFIX, NEXT);
            assertThat(Errors.maxAbs(Engine.feed(other, foreign, rest, 3), Engine.feed(other, control, rest, 3)))
                    .isLessThanOrEqualTo(Engine.SAME);
        }
    }
}
