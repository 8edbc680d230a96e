package dev.moba.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.spi.BackendOptions;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.GoldenCases;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

class CaseRunnerTest {

    /** The golden case with its expected output replaced by {@code expected}. */
    private static GoldenCase withExpected(GoldenCase c, Tensor expected) {
        return new GoldenCase(c.name(), c.cuSeqlens(), c.layout(), c.blockSize(), c.topK(), c.scale(), c.q(), c.k(),
                c.v(), expected);
    }

    @Test
    void reportsAPassingCase() {
        try (Arena arena = Arena.ofConfined()) {
            GoldenCase c = GoldenCases.load("gqa", DType.FP32, arena);
            CaseResult result = new CaseRunner(new CorePath(TestBackends.FORK_JOIN, DType.FP32, 0), DType.FP32).run(c);
            assertThat(result.name()).isEqualTo("gqa");
            assertThat(result.elements()).isEqualTo(777L * 4 * 32);
            assertThat(result.maxAbs()).isLessThanOrEqualTo(1e-5);
            assertThat(result.meanAbs()).isLessThanOrEqualTo(result.maxAbs());
            assertThat(result.pass()).isTrue();
        }
    }

    @Test
    void reportsAPerturbedExpectationAsAFailure() {
        try (Arena arena = Arena.ofConfined()) {
            GoldenCase c = GoldenCases.load("gqa", DType.FP32, arena);
            float[] shifted = c.expected().toFloatArray();
            shifted[1234] += 1e-3f;
            Tensor expected = Tensor.of(arena, DType.FP32, 777, 4, 32, shifted);
            CaseResult result = new CaseRunner(new CorePath(TestBackends.FORK_JOIN, DType.FP32, 0), DType.FP32)
                    .run(withExpected(c, expected));
            assertThat(result.maxAbs()).isBetween(0.9e-3, 1.1e-3);
            assertThat(result.pass()).isFalse();
        }
    }

    @Test
    void aNaNInTheComparisonIsReportedAsNaN() {
        try (Arena arena = Arena.ofConfined()) {
            GoldenCase c = GoldenCases.load("gqa", DType.FP32, arena);
            float[] broken = c.expected().toFloatArray();
            broken[0] = Float.NaN;
            Tensor expected = Tensor.of(arena, DType.FP32, 777, 4, 32, broken);
            CaseResult result = new CaseRunner(new CorePath(TestBackends.FORK_JOIN, DType.FP32, 0), DType.FP32)
                    .run(withExpected(c, expected));
            assertThat(result.maxAbs()).isNaN();
            assertThat(result.pass()).isFalse();
        }
    }

    @Test
    void rejectsANegativeChunk() {
        assertThatThrownBy(() -> new CorePath(TestBackends.FORK_JOIN, DType.FP32, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("chunk must be >= 0");
    }
}
