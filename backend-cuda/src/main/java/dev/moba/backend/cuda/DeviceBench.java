package dev.moba.backend.cuda;

import static dev.moba.backend.cuda.CudaCalls.check;
import static org.bytedeco.cuda.global.cudart.cuEventCreate;
import static org.bytedeco.cuda.global.cudart.cuEventDestroy;
import static org.bytedeco.cuda.global.cudart.cuEventElapsedTime;
import static org.bytedeco.cuda.global.cudart.cuEventRecord;
import static org.bytedeco.cuda.global.cudart.cuEventSynchronize;

import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.BackendOptions;
import dev.moba.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;

/**
 * Times MoBA on a GPU model's data path, inputs already in device memory and outputs left there, with device
 * events. {@code --mode prefill} (default) times {@link DeviceSequence#prefill}: appending the keys and values,
 * sealing (block means), gating, planning, attention and merge; it prints the {@code bench:} line of
 * {@code moba bench} with {@code backend=cuda-resident}. {@code --mode decode} prefills {@code --batch} sequences
 * of {@code --tokens} each, then times {@link DeviceDecode#step} (one token for every sequence) and prints a
 * {@code decode:} line with the median step time.
 *
 * <p>{@code java ... dev.moba.backend.cuda.DeviceBench --tokens N [--mode prefill|decode] [--batch B] [--heads H]
 * [--kv-heads H] [--head-dim D] [--block B] [--top-k K] [--dtype bf16|fp16] [--runs R] [--warmup W] [--seed S]
 * [--json FILE]}
 *
 * <p>The engine's host code (planning, launch arguments) runs interpreted until the JIT has seen it thousands of
 * times, and before the first kernel of a prefill the device waits for it. So that the timed runs see a
 * long-running engine, the default warm-up lasts {@value #WARMUP_SECONDS} seconds (at least three runs); decode,
 * whose sequences are sized before it starts, warms up with {@value #DECODE_WARMUP} steps.
 */
public final class DeviceBench {

    private static final int WARMUP_SECONDS = 2;
    private static final int DECODE_WARMUP = 1000;
    private static final int BY_TIME = -1;

    private DeviceBench() {}

    public static void main(String[] args) throws IOException {
        Map<String, String> options = options(args);
        int tokens = Integer.parseInt(required(options, "--tokens"));
        boolean decode = options.getOrDefault("--mode", "prefill").equals("decode");
        int batch = Integer.parseInt(options.getOrDefault("--batch", "1"));
        int heads = Integer.parseInt(options.getOrDefault("--heads", "8"));
        int kvHeads = Integer.parseInt(options.getOrDefault("--kv-heads", String.valueOf(heads)));
        int dim = Integer.parseInt(options.getOrDefault("--head-dim", "128"));
        int block = Integer.parseInt(options.getOrDefault("--block", "512"));
        int topK = Integer.parseInt(options.getOrDefault("--top-k", "3"));
        DType dtype = DType.parse(options.getOrDefault("--dtype", "bf16"));
        int runs = Integer.parseInt(options.getOrDefault("--runs", decode ? "50" : "10"));
        int warmup = options.containsKey("--warmup") ? Integer.parseInt(options.get("--warmup"))
                : decode ? DECODE_WARMUP : BY_TIME;
        long seed = Long.parseLong(options.getOrDefault("--seed", "1"));

        MobaConfig config = new MobaConfig(block, topK, Float.NaN, dtype, AttentionMode.MOBA);
        HeadLayout layout = new HeadLayout(heads, kvHeads, dim);
        try (CudaBackend backend = (CudaBackend) new CudaBackendProvider().create(new BackendOptions(1))) {
            CudaDevice device = backend.device();
            long qElems = (long) tokens * heads * dim;
            long kvElems = (long) tokens * kvHeads * dim;
            long[] buffers = device.run(() -> new long[] {
                device.allocate(qElems * dtype.bytes()), device.allocate(kvElems * dtype.bytes()),
                device.allocate(kvElems * dtype.bytes()), device.allocate(qElems * dtype.bytes())});
            List<DeviceSequence> sequences = new ArrayList<>();
            float[] times = new float[runs];
            try {
                int count = decode ? batch : 1;
                for (int b = 0; b < count; b++) {
                    long s = seed + 3L * b;
                    device.execute(() -> {
                        backend.kernels().fillNormal(buffers[0], qElems, dtype, s);
                        backend.kernels().fillNormal(buffers[1], kvElems, dtype, s + 1);
                        backend.kernels().fillNormal(buffers[2], kvElems, dtype, s + 2);
                    });
                    sequences.add(new DeviceSequence(backend, config, layout, tokens + Math.max(0, warmup) + runs));
                }
                if (decode) {
                    for (DeviceSequence sequence : sequences) {
                        sequence.prefill(buffers[0], buffers[1], buffers[2], buffers[3], tokens);
                    }
                    long stepQ = (long) batch * heads * dim;
                    long stepKv = (long) batch * kvHeads * dim;
                    device.execute(() -> {
                        backend.kernels().fillNormal(buffers[0], stepQ, dtype, seed + 99);
                        backend.kernels().fillNormal(buffers[1], stepKv, dtype, seed + 100);
                        backend.kernels().fillNormal(buffers[2], stepKv, dtype, seed + 101);
                    });
                    try (DeviceDecode step = new DeviceDecode(backend, sequences)) {
                        measure(backend, () -> step.step(buffers[0], buffers[1], buffers[2], buffers[3]), warmup,
                                times);
                    }
                } else {
                    DeviceSequence sequence = sequences.getFirst();
                    measure(backend, () -> sequence.prefill(buffers[0], buffers[1], buffers[2], buffers[3], tokens),
                            warmup, times);
                }
            } finally {
                sequences.forEach(DeviceSequence::close);
                device.execute(() -> Arrays.stream(buffers).forEach(device::free));
            }
            float[] sorted = times.clone();
            Arrays.sort(sorted);
            double median = runs % 2 == 1 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2.0;
            String workload = String.format(Locale.ROOT, "\"dtype\":\"%s\",\"tokens\":%d,\"heads\":%d,"
                    + "\"kv_heads\":%d,\"head_dim\":%d,\"block\":%d,\"top_k\":%d,\"runs_ms\":%s",
                    dtype, tokens, heads, kvHeads, dim, block, topK, Arrays.toString(times));
            String json;
            if (decode) {
                System.out.println(String.format(Locale.ROOT,
                        "decode: backend=cuda-resident dtype=%s batch=%d context=%d step_ms=%.4f", dtype, batch,
                        tokens, median));
                json = String.format(Locale.ROOT, "{\"backend\":\"cuda-resident\",\"mode\":\"decode\","
                        + "\"device\":\"%s\",\"batch\":%d,%s,\"step_ms\":%.4f}%n", device.name(), batch, workload,
                        median);
            } else {
                double flops = 4.0 * dim * heads * attendedPairsPerHead(tokens, block, topK);
                double tflops = flops / (median / 1000) / 1e12;
                System.out.println(String.format(Locale.ROOT, "bench: backend=cuda-resident dtype=%s tokens=%d "
                        + "moba_ms=%.3f dense_ms=- speedup=- moba_gflops=%.1f", dtype, tokens, median, tflops * 1000));
                json = String.format(Locale.ROOT, "{\"backend\":\"cuda-resident\",\"mode\":\"prefill\","
                        + "\"device\":\"%s\",%s,\"moba_ms\":%.4f,\"moba_tflops\":%.2f}%n", device.name(),
                        workload, median, tflops);
            }
            System.out.println(String.format(Locale.ROOT, "device: %s; heads %d/%d, dim %d, block %d, top-%d; runs %s",
                    device, heads, kvHeads, dim, block, topK, Arrays.toString(times)));
            if (options.containsKey("--json")) {
                Files.writeString(Path.of(options.get("--json")), json);
            }
        }
    }

    /**
     * Runs {@code work} {@code warmup} times ({@link #BY_TIME}: for {@value #WARMUP_SECONDS} seconds, at least three
     * times), then once per entry of {@code times}, each between device events.
     */
    private static void measure(CudaBackend backend, Runnable work, int warmup, float[] times) {
        long until = System.nanoTime() + WARMUP_SECONDS * 1_000_000_000L;
        for (int i = 0; warmup == BY_TIME ? i < 3 || System.nanoTime() < until : i < warmup; i++) {
            time(backend, work);
        }
        for (int i = 0; i < times.length; i++) {
            times[i] = time(backend, work);
        }
    }

    /** Milliseconds of {@code work} between device events. */
    private static float time(CudaBackend backend, Runnable work) {
        return backend.device().run(() -> {
            CUevent_st start = new CUevent_st();
            CUevent_st end = new CUevent_st();
            check(cuEventCreate(start, 0), "cuEventCreate");
            check(cuEventCreate(end, 0), "cuEventCreate");
            try {
                check(cuEventRecord(start, (CUstream_st) null), "cuEventRecord");
                work.run();
                check(cuEventRecord(end, (CUstream_st) null), "cuEventRecord");
                check(cuEventSynchronize(end), "cuEventSynchronize");
                float[] ms = new float[1];
                check(cuEventElapsedTime(ms, start, end), "cuEventElapsedTime");
                return ms[0];
            } finally {
                cuEventDestroy(start);
                cuEventDestroy(end);
            }
        });
    }

    /** Query-key pairs MoBA attends per head: top-(K-1) whole history blocks and the causal part of its own. */
    static double attendedPairsPerHead(int tokens, int block, int topK) {
        double pairs = 0;
        for (int t = 0; t < tokens; t++) {
            pairs += (double) Math.min(topK - 1, t / block) * block + (t % block) + 1;
        }
        return pairs;
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected an option, got '" + args[i] + "'");
            }
            options.put(args[i], args[i + 1]);
        }
        return options;
    }

    private static String required(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        return value;
    }
}
