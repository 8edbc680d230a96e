package dev.moba.attention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.config.AttentionMode;
import dev.moba.tensor.DType;
import dev.moba.testing.Errors;
import dev.moba.testing.FaultyBackend;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A backend call that fails after a chunk's keys and values were appended: the call throws the backend's error and
 * every sequence of the batch is put back where it stood, so the next chunk gives what it would have given had the
 * failed one never come, and holds the memory it held then.
 */
class MobaAttentionFailureTest {

    private static final int BLOCK = 4;
    private static final int PREFIX = 6;
    private static final int TOTAL = 20;

    enum Failing { GATE, ATTEND }

    @ParameterizedTest
    @EnumSource(Failing.class)
    void aFailedCallIsUndoneForEverySequenceOfTheBatch(Failing where) {
        Qkv a = new RandomTensors(5).qkv(TOTAL, 4, 2, 8);
        Qkv b = new RandomTensors(6).qkv(TOTAL, 4, 2, 8);
        FaultyBackend backend = new FaultyBackend();
        try (MobaAttention layer = Engine.layer(backend, a, BLOCK, 2, DType.BF16, AttentionMode.MOBA)) {
            Sequence first = layer.openSequence();
            Sequence second = layer.openSequence();
            Sequence firstControl = layer.openSequence();
            Sequence secondControl = layer.openSequence();
            for (Sequence s : List.of(first, firstControl)) {
                Engine.feed(layer, s, a.slice(0, PREFIX), 3);
            }
            for (Sequence s : List.of(second, secondControl)) {
                Engine.feed(layer, s, b.slice(0, PREFIX), 5);
            }

            IllegalStateException failure = new IllegalStateException("backend failed in " + where);
            if (where == Failing.GATE) {
                backend.gateFailure = failure;
            } else {
                backend.attendFailure = failure;
            }
            try (Arena arena = Arena.ofConfined()) {
                // 7 tokens from position 6: fills block 1, seals it and block 2, opens block 3.
                List<Chunk> batch = List.of(
                        new Chunk(first, a.q(arena, DType.FP32, PREFIX, PREFIX + 7), a.k(arena, DType.FP32, PREFIX,
                                PREFIX + 7), a.v(arena, DType.FP32, PREFIX, PREFIX + 7)),
                        new Chunk(second, b.q(arena, DType.FP32, PREFIX, PREFIX + 7), b.k(arena, DType.FP32, PREFIX,
                                PREFIX + 7), b.v(arena, DType.FP32, PREFIX, PREFIX + 7)));
                assertThatThrownBy(() -> layer.forward(batch, arena)).isInstanceOf(IllegalStateException.class)
                        .hasMessage("backend failed in " + where);
            }
            backend.gateFailure = null;
            backend.attendFailure = null;

            for (Sequence[] pair : new Sequence[][] {{first, firstControl}, {second, secondControl}}) {
                assertThat(pair[0].length()).isEqualTo(PREFIX);
                assertThat(pair[0].sealedBlocks()).isEqualTo(pair[1].sealedBlocks());
                assertThat(pair[0].bytesReserved()).isEqualTo(pair[1].bytesReserved());
                try (Arena arena = Arena.ofConfined()) {
                    assertThat(pair[0].cache().readKeys(arena, 0, PREFIX).toFloatArray())
                            .containsExactly(pair[1].cache().readKeys(arena, 0, PREFIX).toFloatArray());
                    assertThat(pair[0].cache().readValues(arena, 0, PREFIX).toFloatArray())
                            .containsExactly(pair[1].cache().readValues(arena, 0, PREFIX).toFloatArray());
                }
            }
            Qkv restA = a.slice(PREFIX, TOTAL);
            Qkv restB = b.slice(PREFIX, TOTAL);
            assertThat(Errors.maxAbs(Engine.feed(layer, first, restA, 7, 1), Engine.feed(layer, firstControl, restA, 7, 1)))
                    .isLessThanOrEqualTo(Engine.SAME);
            assertThat(Errors.maxAbs(Engine.feed(layer, second, restB, 3), Engine.feed(layer, secondControl, restB, 3)))
                    .isLessThanOrEqualTo(Engine.SAME);
            assertThat(first.sealedBlocks()).isEqualTo(TOTAL / BLOCK);
        }
    }
}
