package dev.moba.verify;

import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.io.Json;
import dev.moba.io.Npy;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Map;

/**
 * A reference case: a varlen batch of sequences with their q, k, v, the MoBA settings, and the expected output
 * for one storage dtype ({@code out.npy} for fp32, {@code out_bf16.npy} / {@code out_fp16.npy} for the narrow
 * types, computed on inputs rounded to that type).
 *
 * @param cuSeqlens sequence boundaries: sequence {@code i} is tokens {@code [cuSeqlens[i], cuSeqlens[i+1])}
 */
public record GoldenCase(String name, int[] cuSeqlens, HeadLayout layout, int blockSize, int topK, float scale,
                         Tensor q, Tensor k, Tensor v, Tensor expected) {

    /** Sequences in the batch. */
    public int sequences() {
        return cuSeqlens.length - 1;
    }

    /** Tokens of the longest sequence. */
    public int longestSequence() {
        int longest = 0;
        for (int s = 0; s < sequences(); s++) {
            longest = Math.max(longest, cuSeqlens[s + 1] - cuSeqlens[s]);
        }
        return longest;
    }

    /** The case's attention configuration, storing KV in {@code dtype}. */
    public MobaConfig config(DType dtype) {
        return new MobaConfig(blockSize, topK, scale, dtype, AttentionMode.MOBA);
    }

    /**
     * Loads case {@code name} from {@code files}, tensors into {@code arena}.
     *
     * @throws IllegalArgumentException naming the case and file for anything missing or malformed
     */
    public static GoldenCase load(String name, CaseFiles files, DType dtype, Arena arena) {
        Map<String, Object> json = readJson(name, files);
        int qHeads = intField(name, json, "q_heads");
        int kvHeads = intField(name, json, "kv_heads");
        int headDim = intField(name, json, "head_dim");
        int blockSize = intField(name, json, "block_size");
        int topK = intField(name, json, "top_k");
        float scale = (float) numberField(name, json, "scale");
        if (!(scale > 0 && Float.isFinite(scale))) {
            throw new IllegalArgumentException(name + "/case.json: 'scale' must be a positive finite number, got "
                    + numberField(name, json, "scale"));
        }
        int[] cuSeqlens = cuSeqlens(name, json);
        HeadLayout layout;
        try {
            layout = new HeadLayout(qHeads, kvHeads, headDim);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + "/case.json: " + e.getMessage(), e);
        }
        int tokens = cuSeqlens[cuSeqlens.length - 1];
        Tensor q = tensor(name, files, "q.npy", arena, tokens, qHeads, headDim);
        Tensor k = tensor(name, files, "k.npy", arena, tokens, kvHeads, headDim);
        Tensor v = tensor(name, files, "v.npy", arena, tokens, kvHeads, headDim);
        Tensor expected = tensor(name, files, expectedFile(dtype), arena, tokens, qHeads, headDim);
        return new GoldenCase(name, cuSeqlens, layout, blockSize, topK, scale, q, k, v, expected);
    }

    /** The expected-output file for {@code dtype}. */
    public static String expectedFile(DType dtype) {
        return switch (dtype) {
            case FP32 -> "out.npy";
            case BF16 -> "out_bf16.npy";
            case FP16 -> "out_fp16.npy";
        };
    }

    private static Map<String, Object> readJson(String name, CaseFiles files) {
        try (InputStream in = files.open("case.json")) {
            Object parsed = Json.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            if (!(parsed instanceof Map<?, ?> map)) {
                throw new IllegalArgumentException(name + "/case.json: not a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> object = (Map<String, Object>) map;
            return object;
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(name + ": case.json is missing", e);
        } catch (IOException e) {
            throw new UncheckedIOException(name + "/case.json: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(name)) throw e;
            throw new IllegalArgumentException(name + "/case.json: " + e.getMessage(), e);
        }
    }

    private static Tensor tensor(String name, CaseFiles files, String file, Arena arena, int tokens, int heads,
                                 int dim) {
        Tensor t;
        try (InputStream in = files.open(file)) {
            t = Npy.readTensor(in, name + "/" + file, arena);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(name + ": " + file + " is missing", e);
        } catch (IOException e) {
            throw new UncheckedIOException(name + "/" + file + ": " + e.getMessage(), e);
        }
        if (t.tokens() != tokens || t.heads() != heads || t.dim() != dim) {
            throw new IllegalArgumentException(name + "/" + file + ": shape " + t.shapeText() + " does not match"
                    + " case.json, which implies [" + tokens + ", " + heads + ", " + dim + "]");
        }
        return t;
    }

    private static double numberField(String name, Map<String, Object> json, String key) {
        Object value = json.get(key);
        if (value == null) {
            throw new IllegalArgumentException(name + "/case.json: '" + key + "' is missing");
        }
        if (!(value instanceof Double d)) {
            throw new IllegalArgumentException(name + "/case.json: '" + key + "' is not a number: " + value);
        }
        return d;
    }

    private static int intField(String name, Map<String, Object> json, String key) {
        double d = numberField(name, json, key);
        if (d != Math.rint(d) || d < 1 || d > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + "/case.json: '" + key + "' must be a positive integer, got " + d);
        }
        return (int) d;
    }

    private static int[] cuSeqlens(String name, Map<String, Object> json) {
        if (!(json.get("cu_seqlens") instanceof List<?> list) || list.size() < 2) {
            throw new IllegalArgumentException(name + "/case.json: 'cu_seqlens' must be a list of at least two"
                    + " boundaries");
        }
        int[] bounds = new int[list.size()];
        for (int i = 0; i < bounds.length; i++) {
            if (!(list.get(i) instanceof Double d) || d != Math.rint(d) || d < 0 || d > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(name + "/case.json: cu_seqlens[" + i + "] is not a"
                        + " non-negative integer: " + list.get(i));
            }
            bounds[i] = (int) (double) d;
            if (i == 0 && bounds[0] != 0) {
                throw new IllegalArgumentException(name + "/case.json: cu_seqlens must start at 0");
            }
            if (i > 0 && bounds[i] <= bounds[i - 1]) {
                throw new IllegalArgumentException(name + "/case.json: cu_seqlens must increase strictly, got "
                        + bounds[i - 1] + " then " + bounds[i]);
            }
        }
        return bounds;
    }
}
