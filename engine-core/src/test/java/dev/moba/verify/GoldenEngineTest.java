package dev.moba.verify;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.moba.engine.MobaEngine;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.Errors;
import dev.moba.testing.GoldenCases;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every golden case through the engine with the Java backend, per storage type, chunking and thread count. */
class GoldenEngineTest {

    /** Streaming engines on the one-thread and two-thread backends, shared by the stream runs. */
    private static final Map<Integer, MobaEngine> ENGINES = new HashMap<>();

    @BeforeAll
    static void startEngines() {
        ENGINES.put(1, MobaEngine.create(ConfigFactory.load(), TestBackends.INLINE));
        ENGINES.put(2, MobaEngine.create(ConfigFactory.load(), TestBackends.FORK_JOIN));
    }

    @AfterAll
    static void stopEngines() {
        ENGINES.values().forEach(MobaEngine::close);
        ENGINES.clear();
    }

    static List<Arguments> runs() {
        List<Arguments> runs = new ArrayList<>();
        for (String name : GoldenCases.NAMES) {
            for (DType dtype : DType.values()) {
                for (int chunk : new int[] {0, 1, 7, 300}) {
                    for (int threads : new int[] {1, 2}) {
                        for (String path : new String[] {"core", "stream"}) {
                            runs.add(Arguments.of(name, dtype, chunk, threads, path));
                        }
                    }
                }
            }
        }
        return runs;
    }

    @ParameterizedTest(name = "{0} {1} chunk={2} threads={3} {4}")
    @MethodSource("runs")
    void matchesGoldenOutput(String name, DType dtype, int chunk, int threads, String path) {
        try (Arena arena = Arena.ofShared()) {
            GoldenCase c = GoldenCases.load(name, dtype, arena);
            CasePath route = path.equals("core")
                    ? new CorePath(threads == 1 ? TestBackends.INLINE : TestBackends.FORK_JOIN, dtype, chunk)
                    : new StreamPath(ENGINES.get(threads), dtype, chunk);
            Tensor out = route.output(c, arena);
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
