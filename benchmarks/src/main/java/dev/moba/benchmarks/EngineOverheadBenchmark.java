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
 * What the streaming engine costs on top of the core: a 32K-token prefill in 4K-token chunks, one layer, through
 * the engine (session actor, block shard, futures) and straight through {@link dev.moba.attention.MobaAttention},
 * on the same Java backend. Run both {@code path}s in one invocation and compare the medians.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 7)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow", "-Xmx8g"})
public class EngineOverheadBenchmark {

    @Param({"engine", "core"})
    public String path;

    @Param("32768")
    public int tokens;

    @Param("4096")
    public int chunk;

    @Param("2")
    public int threads;

    private Arena arena;
    private JavaBackend backend;
    private EnginePaths layer;
    private BenchData data;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        backend = new JavaBackend(new BackendOptions(threads));
        data = BenchData.normal(arena, 42, tokens, 8, 2, 128);
        layer = EnginePaths.open(path, backend, MobaConfig.of(512, 3), new HeadLayout(8, 2, 128));
    }

    @Setup(Level.Invocation)
    public void newDocument() {
        layer.restart();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        layer.close();
        backend.close();
        arena.close();
    }

    @Benchmark
    public float prefill() {
        return layer.prefill(data, tokens, chunk);
    }
}
