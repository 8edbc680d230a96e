package dev.moba.attention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.config.AttentionMode;
import dev.moba.spi.BackendOptions;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.ReferenceMoba;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Corner cases of {@link MobaAttention} on the Java backend, against {@link ReferenceMoba}. */
class MobaAttentionTest {

    @ParameterizedTest(name = "group {0}")
    @ValueSource(ints = {64, 65, 80, 130})
    void queryGroupsLargerThanATileAreGatedCorrectly(int group) {
        Qkv data = new RandomTensors(group).qkv(40, group, 1, 3);
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, 4, 3, DType.FP32, AttentionMode.MOBA)) {
            float[] out = Engine.chunked(layer, data, 13);
            float[] expected = ReferenceMoba.withDefaultScale(group, 1, 3, 4, 3).run(data.q(), data.k(), data.v());
            assertThat(Errors.maxAbs(out, expected)).isLessThanOrEqualTo(1e-5);
        }
    }

    @Test
    void headDimOf256() {
        Qkv data = new RandomTensors(256).qkv(150, 2, 1, 256);
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, 32, 2, DType.FP32, AttentionMode.MOBA)) {
            float[] out = Engine.chunked(layer, data, 100, 1, 7);
            float[] expected = ReferenceMoba.withDefaultScale(2, 1, 256, 32, 2).run(data.q(), data.k(), data.v());
            assertThat(Errors.maxAbs(out, expected)).isLessThanOrEqualTo(1e-5);
        }
    }

    @ParameterizedTest(name = "top-k {0}")
    @ValueSource(ints = {1_000, 1 << 20, Integer.MAX_VALUE})
    void hugeTopKInMobaModeIsDenseCausal(int topK) {
        Qkv data = new RandomTensors(7).qkv(70, 4, 2, 8);
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, 4, topK, DType.FP32, AttentionMode.MOBA)) {
            float[] out = Engine.chunked(layer, data, 70, 1);
            float[] dense = ReferenceMoba.withDefaultScale(4, 2, 8, 4, ReferenceMoba.FULL)
                    .run(data.q(), data.k(), data.v());
            assertThat(Errors.maxAbs(out, dense)).isLessThanOrEqualTo(1e-5);
        }
    }

    @Test
    void fullModeIgnoresTopK() {
        Qkv data = new RandomTensors(8).qkv(50, 2, 2, 4);
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, 8, 1, DType.FP32, AttentionMode.FULL)) {
            float[] out = Engine.chunked(layer, data, 9);
            float[] dense = ReferenceMoba.withDefaultScale(2, 2, 4, 8, ReferenceMoba.FULL)
                    .run(data.q(), data.k(), data.v());
            float[] local = ReferenceMoba.withDefaultScale(2, 2, 4, 8, 1).run(data.q(), data.k(), data.v());
            assertThat(Errors.maxAbs(out, dense)).isLessThanOrEqualTo(1e-5);
            assertThat(Errors.maxAbs(out, local)).as("top-1 differs from dense on this data").isGreaterThan(1e-2);
        }
    }

    @Test
    void emptyChunkChangesNothing() {
        Qkv data = new RandomTensors(9).qkv(20, 2, 1, 4);
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, 4, 2, DType.FP32, AttentionMode.MOBA);
             Sequence sequence = layer.openSequence();
             Arena arena = Arena.ofConfined()) {
            float[] head = Engine.feed(layer, sequence, data.slice(0, 10), 10);
            Tensor empty = layer.forward(sequence, data.q(arena, DType.FP32, 10, 10), data.k(arena, DType.FP32, 10, 10),
                    data.v(arena, DType.FP32, 10, 10), arena);
            assertThat(empty.tokens()).isZero();
            assertThat(sequence.length()).isEqualTo(10);
            float[] tail = Engine.feed(layer, sequence, data.slice(10, 20), 10);
            float[] all = Engine.oneShot(layer, data);
            assertThat(Errors.maxAbs(head, java.util.Arrays.copyOfRange(all, 0, head.length)))
                    .isLessThanOrEqualTo(Engine.SAME);
            assertThat(Errors.maxAbs(tail, java.util.Arrays.copyOfRange(all, head.length, all.length)))
                    .isLessThanOrEqualTo(Engine.SAME);
        }
    }

    /**
     * Into a confined tensor the outputs are copied; into a shared one the backend folds them in place; into the
     * queries' own tensor (shared) they are copied after every query was read. All give the same numbers.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"confined", "shared", "queries"})
    void outputsIntoTheCallersTensorEqualFreshOnes(String target) {
        Qkv data = new RandomTensors(13).qkv(45, 4, 2, 8);
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, 8, 3, DType.FP32, AttentionMode.MOBA);
             Sequence into = layer.openSequence();
             Arena arena = target.equals("confined") ? Arena.ofConfined() : Arena.ofShared()) {
            float[] fresh = Engine.chunked(layer, data, 20, 1, 24);
            Tensor out = Tensor.allocate(arena, DType.FP32, 24, 4, 8);
            int from = 0;
            for (int size : new int[] {20, 1, 24}) {
                Tensor q = data.q(arena, DType.FP32, from, from + size);
                Tensor written = target.equals("queries") ? q : out.slice(0, size);
                if (written != q) {
                    written.segment().fill((byte) 0x7f);  // poisoned: a value the layer does not write fails
                }
                layer.forward(into, q, data.k(arena, DType.FP32, from, from + size),
                        data.v(arena, DType.FP32, from, from + size), written);
                float[] expected = java.util.Arrays.copyOfRange(fresh, from * 4 * 8, (from + size) * 4 * 8);
                assertThat(Errors.maxAbs(written.toFloatArray(), expected)).isLessThanOrEqualTo(Engine.SAME);
                from += size;
            }
            assertThat(into.length()).isEqualTo(45);
        }
    }

    @Test
    void sequenceTracksLengthSealedBlocksAndMemory() {
        Qkv data = new RandomTensors(10).qkv(11, 2, 2, 4);
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, 4, 2, DType.FP32, AttentionMode.MOBA)) {
            Sequence sequence = layer.openSequence();
            assertThat(sequence.length()).isZero();
            assertThat(sequence.sealedBlocks()).isZero();
            Engine.feed(layer, sequence, data, 3, 5, 3);
            assertThat(sequence.length()).isEqualTo(11);
            assertThat(sequence.sealedBlocks()).isEqualTo(2);
            assertThat(sequence.bytesReserved()).isPositive();
            assertThat(layer.bytesReserved()).isEqualTo(sequence.bytesReserved());
            sequence.close();
            assertThat(sequence.isClosed()).isTrue();
            assertThat(sequence.bytesReserved()).isZero();
            assertThat(layer.bytesReserved()).isZero();
        }
    }

    @Test
    void closingTheLayerClosesItsSequences() {
        Qkv data = new RandomTensors(11).qkv(3, 1, 1, 2);
        Sequence a;
        Sequence b;
        try (MobaAttention layer = Engine.layer(TestBackends.FORK_JOIN, data, 2, 1, DType.FP32, AttentionMode.MOBA)) {
            a = layer.openSequence();
            b = layer.openSequence();
            Engine.feed(layer, a, data, 3);
        }
        assertThat(a.isClosed()).isTrue();
        assertThat(b.isClosed()).isTrue();
    }

    @Test
    void explicitScaleIsUsed() {
        Qkv data = new RandomTensors(12).qkv(30, 2, 1, 8);
        var config = new dev.moba.config.MobaConfig(5, 2, 0.9f, DType.FP32, AttentionMode.MOBA);
        try (MobaAttention layer = new MobaAttention(config, new dev.moba.config.HeadLayout(2, 1, 8), TestBackends.FORK_JOIN)) {
            float[] out = Engine.chunked(layer, data, 30);
            float[] expected = new ReferenceMoba(2, 1, 8, 5, 2, 0.9f).run(data.q(), data.k(), data.v());
            assertThat(Errors.maxAbs(out, expected)).isLessThanOrEqualTo(1e-5);
        }
    }
}
