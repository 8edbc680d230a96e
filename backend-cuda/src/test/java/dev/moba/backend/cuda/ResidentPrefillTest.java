package dev.moba.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.BatchRun;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The resident prefill (inputs and output on the device; gating, planning, tensor-core attention and merge all on
 * the GPU) against the Java backend's one-shot prefill of the same rounded inputs, within the bounds of the
 * contract for 16-bit storage. The output is poisoned first, so a row the kernels miss fails.
 */
@RequiresGpu
class ResidentPrefillTest {

    record Case(int tokens, int kvHeads, int group, int dim, int blockSize, int topK, DType dtype, long seed) {}

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case(4096, 2, 2, 128, 256, 3, DType.BF16, 1),
                new Case(3000, 1, 2, 64, 512, 4, DType.FP16, 2),
                new Case(5000, 2, 1, 128, 128, 6, DType.BF16, 3),
                new Case(100, 1, 4, 128, 256, 3, DType.BF16, 4),
                new Case(16_384, 1, 8, 128, 512, 3, DType.BF16, 5)).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTheJavaBackend(Case c) {
        int qHeads = c.kvHeads() * c.group();
        var config = new MobaConfig(c.blockSize(), c.topK(), Float.NaN, c.dtype(), AttentionMode.MOBA);
        var layout = new HeadLayout(qHeads, c.kvHeads(), c.dim());
        Qkv data = new RandomTensors(c.seed()).qkv(c.tokens(), qHeads, c.kvHeads(), c.dim());
        float[] expected = BatchRun.outputs(TestBackends.FORK_JOIN, config, layout, List.of(data), 0);

        CudaBackend backend = CudaBackends.shared();
        CudaDevice device = backend.device();
        try (Arena arena = Arena.ofConfined();
             ResidentPrefill prefill = new ResidentPrefill(backend, config, layout)) {
            Tensor q = data.q(arena, c.dtype(), 0, c.tokens());
            Tensor k = data.k(arena, c.dtype(), 0, c.tokens());
            Tensor v = data.v(arena, c.dtype(), 0, c.tokens());
            MemorySegment out = arena.allocate(q.segment().byteSize());
            long[] at = device.run(() -> new long[] {device.allocate(q.segment().byteSize()),
                device.allocate(k.segment().byteSize()), device.allocate(v.segment().byteSize()),
                device.allocate(out.byteSize())});
            try {
                device.execute(() -> {
                    device.upload(q.segment(), at[0]);
                    device.upload(k.segment(), at[1]);
                    device.upload(v.segment(), at[2]);
                    backend.kernels().fill(at[3], out.byteSize() / Integer.BYTES, 0x7fc07fc0);
                });
                prefill.run(at[0], at[1], at[2], at[3], c.tokens());
                device.execute(() -> device.download(at[3], out));
            } finally {
                device.execute(() -> java.util.Arrays.stream(at).forEach(device::free));
            }
            float[] actual = Tensor.wrap(out, c.dtype(), c.tokens(), qHeads, c.dim()).toFloatArray();
            assertThat(Errors.maxAbs(actual, expected)).as("max abs difference").isLessThanOrEqualTo(2e-2);
            assertThat(Errors.meanAbs(actual, expected)).as("mean abs difference").isLessThanOrEqualTo(4e-4);
        }
    }
}
