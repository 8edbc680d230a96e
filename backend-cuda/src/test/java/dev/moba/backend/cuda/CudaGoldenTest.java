package dev.moba.backend.cuda;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Within;
import dev.moba.testing.GoldenCases;
import dev.moba.verify.CorePath;
import dev.moba.verify.GoldenCase;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every golden case through the core on the CUDA backend, per storage type, one-shot and chunked. */
@RequiresGpu
class CudaGoldenTest {

    static List<Arguments> runs() {
        List<Arguments> runs = new ArrayList<>();
        for (String name : GoldenCases.NAMES) {
            for (DType dtype : DType.values()) {
                for (int chunk : new int[] {0, 1, 7, 300}) {
                    runs.add(Arguments.of(name, dtype, chunk));
                }
            }
        }
        return runs;
    }

    @ParameterizedTest(name = "{0} {1} chunk={2}")
    @MethodSource("runs")
    void matchesGoldenOutput(String name, DType dtype, int chunk) {
        try (Arena arena = Arena.ofConfined()) {
            GoldenCase c = GoldenCases.load(name, dtype, arena);
            Tensor out = new CorePath(CudaBackends.shared(), dtype, chunk).output(c, arena);
            float[] actual = out.toFloatArray();
            float[] expected = c.expected().toFloatArray();
            Within.tolerance(dtype, actual, expected);
        }
    }
}
