package dev.moba.backend.cpu;

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

/** Every golden case through the engine on the oneDNN backend, per storage type and chunking. */
class OneDnnGoldenTest {

    static List<Arguments> runs() {
        List<Arguments> runs = new ArrayList<>();
        for (String name : GoldenCases.NAMES) {
            for (DType dtype : DType.values()) {
                for (int chunk : new int[] {0, 1, 300}) {
                    runs.add(Arguments.of(name, dtype, chunk, chunk == 1 ? 1 : 2));
                }
            }
        }
        return runs;
    }

    @ParameterizedTest(name = "{0} {1} chunk={2} threads={3}")
    @MethodSource("runs")
    void matchesGoldenOutput(String name, DType dtype, int chunk, int threads) {
        try (Arena arena = Arena.ofConfined()) {
            GoldenCase c = GoldenCases.load(name, dtype, arena);
            Tensor out = new CorePath(OneDnnBackends.of(threads), dtype, chunk).output(c, arena);
            float[] actual = out.toFloatArray();
            float[] expected = c.expected().toFloatArray();
            Within.tolerance(dtype, actual, expected);
        }
    }
}
