package dev.moba.verify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.spi.BackendOptions;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.GoldenCases;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every golden case through the engine with the Java backend, per storage type, chunking and thread count. */
class GoldenEngineTest {

    static List<Arguments> runs() {
        List<Arguments> runs = new ArrayList<>();
        for (String name : GoldenCases.NAMES) {
            for (DType dtype : DType.values()) {
                for (int chunk : new int[] {0, 1, 7, 300}) {
                    for (int threads : new int[] {1, 2}) {
                        runs.add(Arguments.of(name, dtype, chunk, threads));
                    }
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
            Tensor out = new CaseRunner(threads == 1 ? TestBackends.INLINE : TestBackends.FORK_JOIN, dtype, chunk).output(c, arena);
            float[] actual = out.toFloatArray();
            float[] expected = c.expected().toFloatArray();
            double max = Errors.maxAbs(actual, expected);
            double mean = Errors.meanAbs(actual, expected);
            if (dtype == DType.FP32) {
                assertThat(max).as("max abs error").isLessThanOrEqualTo(1e-5);
            } else {
                assertThat(max).as("max abs error").isLessThanOrEqualTo(2e-2);
                assertThat(mean).as("mean abs error").isLessThanOrEqualTo(4e-4);
            }
        }
    }
}
