package dev.moba.benchmarks;

import dev.moba.backend.java.JavaBackend;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.BackendOptions;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-token decode latency after a 32K-token prefill, one layer, through the streaming engine and straight
 * through the core on the same Java backend. Every iteration starts a fresh document with a 32K prefill (not
 * timed) and then decodes for 100 ms, about a thousand tokens, each call sampled, so JMH's percentiles are the
 * per-token p50 and p99; the context grows by one token a step, as in generation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 200, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 10, time = 100, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow", "-Xmx8g"})
public class DecodeOverheadBenchmark {

    /** Distinct decode tokens cycled through; their values do not change the cost. */
    private static final int TOKEN_POOL = 64;

    @Param({"engine", "core"})
    public String path;

    @Param("32768")
    public int context;

    @Param("2")
    public int threads;

    private Arena arena;
    private JavaBackend backend;
    private EnginePaths layer;
    private BenchData data;
    private int step;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        backend = new JavaBackend(new BackendOptions(threads));
        data = BenchData.normal(arena, 7, context + TOKEN_POOL, 8, 2, 128);
        layer = EnginePaths.open(path, backend, MobaConfig.of(512, 3), new HeadLayout(8, 2, 128));
    }

    @Setup(Level.Iteration)
    public void prefill() {
        layer.restart();
        layer.prefill(data, context, 4096);
        step = 0;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        layer.close();
        backend.close();
        arena.close();
    }

    @Benchmark
    public float decode() {
        int t = context + step++ % TOKEN_POOL;
        return layer.forward(data.slice(t, t + 1));
    }
}
