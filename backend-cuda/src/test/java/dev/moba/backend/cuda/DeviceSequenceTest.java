package dev.moba.backend.cuda;

import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.BatchRun;
import dev.moba.testing.Within;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sequences resident on the device (inputs and outputs in device memory; gating, planning, tensor-core attention,
 * decode and merge all on the GPU) against the Java backend's one-shot prefill of the same rounded inputs, within
 * the bounds of the contract for 16-bit storage. Outputs are poisoned first, so a row the kernels miss fails.
 */
@RequiresGpu
class DeviceSequenceTest {

    record Case(int tokens, int kvHeads, int group, int dim, int blockSize, int topK, DType dtype, long seed) {}

    static Stream<Arguments> prefillCases() {
        return Stream.of(
                new Case(4096, 2, 2, 128, 256, 3, DType.BF16, 1),
                new Case(3000, 1, 2, 64, 512, 4, DType.FP16, 2),
                new Case(5000, 2, 1, 128, 128, 6, DType.BF16, 3),
                new Case(100, 1, 4, 128, 256, 3, DType.BF16, 4),
                new Case(16_384, 1, 8, 128, 512, 3, DType.BF16, 5)).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("prefillCases")
    void prefillMatchesTheJavaBackend(Case c) {
        MobaConfig config = config(c);
        HeadLayout layout = layout(c);
        Qkv data = new RandomTensors(c.seed()).qkv(c.tokens(), layout.qHeads(), c.kvHeads(), c.dim());
        float[] expected = BatchRun.outputs(TestBackends.FORK_JOIN, config, layout, List.of(data), 0);

        CudaBackend backend = CudaBackends.shared();
        try (Arena arena = Arena.ofConfined();
             DeviceSequence sequence = new DeviceSequence(backend, config, layout, c.tokens());
             DeviceBuffers buffers = new DeviceBuffers(backend.device())) {
            Tensor q = data.q(arena, c.dtype(), 0, c.tokens());
            long out = buffers.poisoned(q.segment().byteSize(), backend);
            sequence.prefill(buffers.of(q), buffers.of(data.k(arena, c.dtype(), 0, c.tokens())),
                    buffers.of(data.v(arena, c.dtype(), 0, c.tokens())), out, c.tokens());
            float[] actual = buffers.read(out, arena, c.dtype(), c.tokens(), layout.qHeads(), c.dim());
            Within.sixteenBitBounds(actual, expected);
        }
    }

    /**
     * One sequence prefilled again and again, each time with other data and a length needing fewer, more or as many
     * blocks as before (the cache keeps its blocks between prefills), then decoded: every output against the Java
     * backend on that prefill's data alone.
     */
    @Test
    void aRefilledSequenceMatchesTheJavaBackendWhateverItsLengthBefore() {
        Case c = new Case(0, 2, 2, 128, 256, 3, DType.BF16, 21);
        MobaConfig config = config(c);
        HeadLayout layout = layout(c);
        int row = layout.qHeads() * c.dim();
        int[] lengths = {1500, 700, 2900, 2900, 256, 1000};
        int steps = 40;
        CudaBackend backend = CudaBackends.shared();
        try (Arena arena = Arena.ofConfined();
             DeviceSequence sequence = new DeviceSequence(backend, config, layout, 3000);
             DeviceBuffers buffers = new DeviceBuffers(backend.device())) {
            Qkv data = null;
            int tokens = 0;
            for (int i = 0; i < lengths.length; i++) {
                tokens = lengths[i];
                data = new RandomTensors(c.seed() + i).qkv(tokens + steps, layout.qHeads(), c.kvHeads(), c.dim());
                Tensor q = data.q(arena, c.dtype(), 0, tokens);
                long out = buffers.poisoned(q.segment().byteSize(), backend);
                sequence.prefill(buffers.of(q), buffers.of(data.k(arena, c.dtype(), 0, tokens)),
                        buffers.of(data.v(arena, c.dtype(), 0, tokens)), out, tokens);
                float[] actual = buffers.read(out, arena, c.dtype(), tokens, layout.qHeads(), c.dim());
                float[] expected = BatchRun.outputs(TestBackends.FORK_JOIN, config, layout,
                        List.of(data.slice(0, tokens)), 0);
                Within.sixteenBitBounds(actual, expected);
                buffers.release();
            }
            float[] decoded = new float[steps * row];
            try (DeviceDecode decode = new DeviceDecode(backend, List.of(sequence))) {
                for (int step = 0; step < steps; step++) {
                    int at = tokens + step;
                    long out = buffers.poisoned((long) row * c.dtype().bytes(), backend);
                    decode.step(buffers.of(data.q(arena, c.dtype(), at, at + 1)),
                            buffers.of(data.k(arena, c.dtype(), at, at + 1)),
                            buffers.of(data.v(arena, c.dtype(), at, at + 1)), out);
                    System.arraycopy(buffers.read(out, arena, c.dtype(), 1, layout.qHeads(), c.dim()), 0, decoded,
                            step * row, row);
                    buffers.release();
                }
            }
            float[] all = BatchRun.outputs(TestBackends.FORK_JOIN, config, layout, List.of(data), 0);
            Within.sixteenBitBounds(decoded, Arrays.copyOfRange(all, tokens * row, all.length));
        }
    }

    static Stream<Arguments> decodeCases() {
        return Stream.of(
                Arguments.of(new Case(0, 2, 2, 128, 256, 3, DType.BF16, 11), new int[] {700, 1500, 256}, 300),
                Arguments.of(new Case(0, 1, 4, 64, 128, 4, DType.FP16, 12), new int[] {1, 383}, 260));
    }

    @ParameterizedTest(name = "{0} prefill {1} then {2} steps")
    @MethodSource("decodeCases")
    void decodeMatchesTheJavaBackend(Case c, int[] prefill, int steps) {
        MobaConfig config = config(c);
        HeadLayout layout = layout(c);
        int row = layout.qHeads() * c.dim();
        List<Qkv> data = new ArrayList<>();
        for (int b = 0; b < prefill.length; b++) {
            data.add(new RandomTensors(c.seed() + b).qkv(prefill[b] + steps, layout.qHeads(), c.kvHeads(), c.dim()));
        }
        CudaBackend backend = CudaBackends.shared();
        List<DeviceSequence> sequences = new ArrayList<>();
        float[][] decoded = new float[prefill.length][steps * row];
        try (Arena arena = Arena.ofConfined(); DeviceBuffers buffers = new DeviceBuffers(backend.device())) {
            for (int b = 0; b < prefill.length; b++) {
                DeviceSequence sequence = new DeviceSequence(backend, config, layout, prefill[b] + steps);
                sequences.add(sequence);
                Tensor q = data.get(b).q(arena, c.dtype(), 0, prefill[b]);
                sequence.prefill(buffers.of(q), buffers.of(data.get(b).k(arena, c.dtype(), 0, prefill[b])),
                        buffers.of(data.get(b).v(arena, c.dtype(), 0, prefill[b])),
                        buffers.poisoned(q.segment().byteSize(), backend), prefill[b]);
            }
            try (DeviceDecode decode = new DeviceDecode(backend, sequences)) {
                for (int step = 0; step < steps; step++) {
                    int s = step;
                    long q = buffers.of(rows(arena, c.dtype(), data,
                            b -> data.get(b).q(arena, c.dtype(), prefill[b] + s, prefill[b] + s + 1)));
                    long k = buffers.of(rows(arena, c.dtype(), data,
                            b -> data.get(b).k(arena, c.dtype(), prefill[b] + s, prefill[b] + s + 1)));
                    long v = buffers.of(rows(arena, c.dtype(), data,
                            b -> data.get(b).v(arena, c.dtype(), prefill[b] + s, prefill[b] + s + 1)));
                    long out = buffers.poisoned((long) prefill.length * row * c.dtype().bytes(), backend);
                    decode.step(q, k, v, out);
                    float[] values = buffers.read(out, arena, c.dtype(), prefill.length, layout.qHeads(), c.dim());
                    for (int b = 0; b < prefill.length; b++) {
                        System.arraycopy(values, b * row, decoded[b], step * row, row);
                    }
                    buffers.release();
                }
            }
        } finally {
            sequences.forEach(DeviceSequence::close);
        }
        for (int b = 0; b < prefill.length; b++) {
            float[] all = BatchRun.outputs(TestBackends.FORK_JOIN, config, layout, List.of(data.get(b)), 0);
            Within.sixteenBitBounds(decoded[b], Arrays.copyOfRange(all, prefill[b] * row, all.length));
        }
    }

    private static Tensor rows(Arena arena, DType dtype, List<Qkv> data,
                               java.util.function.IntFunction<Tensor> row) {
        Tensor first = row.apply(0);
        Tensor batch = Tensor.allocate(arena, dtype, data.size(), first.heads(), first.dim());
        for (int b = 0; b < data.size(); b++) {
            Tensor one = row.apply(b);
            MemorySegment.copy(one.segment(), 0, batch.segment(), b * one.segment().byteSize(),
                    one.segment().byteSize());
        }
        return batch;
    }

    private static MobaConfig config(Case c) {
        return new MobaConfig(c.blockSize(), c.topK(), Float.NaN, c.dtype(), AttentionMode.MOBA);
    }

    private static HeadLayout layout(Case c) {
        return new HeadLayout(c.kvHeads() * c.group(), c.kvHeads(), c.dim());
    }
}
