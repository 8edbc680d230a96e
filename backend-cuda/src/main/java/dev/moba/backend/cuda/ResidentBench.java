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
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;

/**
 * Times {@link ResidentPrefill} on inputs already on the GPU, with device events: appending the keys and values,
 * sealing (block means), gating, planning, attention and merge, output left on the device, as a model running on
 * the GPU would call it. Prints the {@code bench:} line of {@code moba bench} with {@code backend=cuda-resident}.
 *
 * <p>{@code java ... dev.moba.backend.cuda.ResidentBench --tokens N [--heads H] [--kv-heads H] [--head-dim D]
 * [--block B] [--top-k K] [--dtype bf16|fp16] [--runs R] [--warmup W] [--seed S] [--json FILE]}
 */
public final class ResidentBench {

    private ResidentBench() {}

    public static void main(String[] args) throws IOException {
        Map<String, String> options = options(args);
        int tokens = Integer.parseInt(required(options, "--tokens"));
        int heads = Integer.parseInt(options.getOrDefault("--heads", "8"));
        int kvHeads = Integer.parseInt(options.getOrDefault("--kv-heads", String.valueOf(heads)));
        int dim = Integer.parseInt(options.getOrDefault("--head-dim", "128"));
        int block = Integer.parseInt(options.getOrDefault("--block", "512"));
        int topK = Integer.parseInt(options.getOrDefault("--top-k", "3"));
        DType dtype = DType.parse(options.getOrDefault("--dtype", "bf16"));
        int runs = Integer.parseInt(options.getOrDefault("--runs", "10"));
        int warmup = Integer.parseInt(options.getOrDefault("--warmup", "3"));
        long seed = Long.parseLong(options.getOrDefault("--seed", "1"));

        MobaConfig config = new MobaConfig(block, topK, Float.NaN, dtype, AttentionMode.MOBA);
        HeadLayout layout = new HeadLayout(heads, kvHeads, dim);
        try (CudaBackend backend = (CudaBackend) new CudaBackendProvider().create(new BackendOptions(1));
             ResidentPrefill prefill = new ResidentPrefill(backend, config, layout)) {
            CudaDevice device = backend.device();
            long qElems = (long) tokens * heads * dim;
            long kvElems = (long) tokens * kvHeads * dim;
            long[] buffers = device.run(() -> new long[] {
                device.allocate(qElems * dtype.bytes()), device.allocate(kvElems * dtype.bytes()),
                device.allocate(kvElems * dtype.bytes()), device.allocate(qElems * dtype.bytes())});
            float[] times = new float[runs];
            try {
                device.execute(() -> {
                    backend.kernels().fillNormal(buffers[0], qElems, dtype, seed);
                    backend.kernels().fillNormal(buffers[1], kvElems, dtype, seed + 1);
                    backend.kernels().fillNormal(buffers[2], kvElems, dtype, seed + 2);
                    device.synchronize();
                });
                for (int i = 0; i < warmup; i++) {
                    time(backend, prefill, buffers, tokens);
                }
                for (int i = 0; i < runs; i++) {
                    times[i] = time(backend, prefill, buffers, tokens);
                }
            } finally {
                device.execute(() -> Arrays.stream(buffers).forEach(device::free));
            }
            float[] sorted = times.clone();
            Arrays.sort(sorted);
            double median = runs % 2 == 1 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2.0;
            double flops = 4.0 * dim * heads * attendedPairsPerHead(tokens, block, topK);
            double tflops = flops / (median / 1000) / 1e12;
            System.out.println(String.format(Locale.ROOT,
                    "bench: backend=cuda-resident dtype=%s tokens=%d moba_ms=%.3f dense_ms=- speedup=- moba_gflops=%.1f",
                    dtype, tokens, median, tflops * 1000));
            System.out.println(String.format(Locale.ROOT, "device: %s; heads %d/%d, dim %d, block %d, top-%d; runs %s",
                    device, heads, kvHeads, dim, block, topK, Arrays.toString(times)));
            if (options.containsKey("--json")) {
                Files.writeString(Path.of(options.get("--json")), String.format(Locale.ROOT,
                        "{\"backend\":\"cuda-resident\",\"device\":\"%s\",\"dtype\":\"%s\",\"tokens\":%d,\"heads\":%d,"
                                + "\"kv_heads\":%d,\"head_dim\":%d,\"block\":%d,\"top_k\":%d,\"runs_ms\":%s,"
                                + "\"moba_ms\":%.4f,\"moba_tflops\":%.2f}%n",
                        device.name(), dtype, tokens, heads, kvHeads, dim, block, topK, Arrays.toString(times),
                        median, tflops));
            }
        }
    }

    /** Milliseconds of one prefill between device events. */
    private static float time(CudaBackend backend, ResidentPrefill prefill, long[] buffers, int tokens) {
        return backend.device().run(() -> {
            CUevent_st start = new CUevent_st();
            CUevent_st end = new CUevent_st();
            check(cuEventCreate(start, 0), "cuEventCreate");
            check(cuEventCreate(end, 0), "cuEventCreate");
            try {
                check(cuEventRecord(start, (CUstream_st) null), "cuEventRecord");
                prefill.run(buffers[0], buffers[1], buffers[2], buffers[3], tokens);
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
