package dev.moba.benchmarks;

import dev.moba.attention.MobaAttention;
import dev.moba.attention.Sequence;
import dev.moba.backend.java.JavaBackend;
import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.BackendOptions;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
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
 * One-shot prefill of one sequence through {@link MobaAttention} on the pure-Java backend: append, gating,
 * planning and block attention, as a model's prefill would run it: each operation opens a fresh sequence of a layer
 * that lives for the whole trial, as a model's layer does (its scratch memory is then reused from one prefill to the
 * next). {@code mode=full} runs dense causal attention on the same kernels. Each operation is a whole prefill, so the
 * mode is single-shot. The work of one prefill is printed at set-up ({@link AttentionWork}), for effective
 * throughput.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx8g"})
public class PrefillBenchmark {

    @Param("32768")
    public int tokens;

    @Param("8")
    public int qHeads;

    @Param("2")
    public int kvHeads;

    @Param("128")
    public int headDim;

    @Param("512")
    public int blockSize;

    @Param("3")
    public int topK;

    @Param({"moba", "full"})
    public String mode;

    @Param("fp32")
    public String dtype;

    @Param("1")
    public int threads;

    private Arena arena;
    private JavaBackend backend;
    private BenchData data;
    private Tensor out;
    private MobaAttention layer;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        backend = new JavaBackend(new BackendOptions(threads));
        data = BenchData.normal(arena, 42, tokens, qHeads, kvHeads, headDim);
        out = Tensor.allocate(arena, DType.FP32, tokens, qHeads, headDim);
        var config = new MobaConfig(blockSize, topK, Float.NaN, DType.parse(dtype), AttentionMode.parse(mode));
        layer = new MobaAttention(config, new HeadLayout(qHeads, kvHeads, headDim), backend);
        int history = mode.equals("full") ? Integer.MAX_VALUE : topK - 1;
        System.out.printf("%nwork per prefill: %.3f GFLOP (4 * headDim per attended query-key pair);"
                + " effective GFLOP/s = that / (ms/op) * 1000%n",
                AttentionWork.flops(tokens, qHeads, headDim, blockSize, history) / 1e9);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        layer.close();
        backend.close();
        arena.close();
    }

    @Benchmark
    public float prefill() {
        try (Sequence sequence = layer.openSequence()) {
            layer.forward(sequence, data.q(), data.k(), data.v(), out);
            return out.get(tokens - 1, qHeads - 1, headDim - 1);
        }
    }
}
