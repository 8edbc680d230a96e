package dev.moba.cli;

import dev.moba.bench.PrefillPoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The JSON text {@code moba bench --json} writes. One length gives a flat object: the setup and the point's fields,
 * {@code tokens} among them. A sweep gives the setup and {@code points}, an array of such point objects in token
 * order. Times are milliseconds with three decimals; a point's {@code speedup} is its dense median over its MoBA
 * median, and the dense fields are there only when dense attention was timed.
 */
final class BenchJson {

    private BenchJson() {}

    /** The object of a one-length bench. */
    static String single(BenchSetup setup, PrefillPoint point) {
        List<String> members = setupMembers(setup);
        members.addAll(pointMembers(point));
        members.add(member("java", quote(System.getProperty("java.version"))));
        return object(members, "") + "\n";
    }

    /** The object of a sweep. */
    static String sweep(BenchSetup setup, List<PrefillPoint> points) {
        List<String> members = setupMembers(setup);
        members.add(member("points", points.stream()
                .map(point -> "    " + object(pointMembers(point), "    "))
                .collect(Collectors.joining(",\n", "[\n", "\n  ]"))));
        members.add(member("java", quote(System.getProperty("java.version"))));
        return object(members, "") + "\n";
    }

    private static List<String> setupMembers(BenchSetup setup) {
        return new ArrayList<>(List.of(
                member("backend", quote(setup.backend())),
                member("dtype", quote(setup.dtype().toString())),
                member("heads", setup.layout().qHeads()),
                member("kv_heads", setup.layout().kvHeads()),
                member("head_dim", setup.layout().headDim()),
                member("block", setup.block()),
                member("top_k", setup.topK()),
                member("threads", setup.threads() == null ? "null" : setup.threads()),
                member("processors", Runtime.getRuntime().availableProcessors())));
    }

    private static List<String> pointMembers(PrefillPoint point) {
        List<String> members = new ArrayList<>(List.of(
                member("tokens", point.tokens()),
                member("moba_pairs", point.workload().mobaPairs()),
                member("moba_runs_ms", list(point.mobaRuns())),
                member("moba_ms", ms(point.mobaMs())),
                member("moba_gflops", twoDecimals(point.mobaGflops()))));
        if (point.hasDense()) {
            members.addAll(List.of(
                    member("dense_pairs", point.workload().densePairs()),
                    member("dense_runs_ms", list(point.denseRuns())),
                    member("dense_ms", ms(point.denseMs())),
                    member("speedup", twoDecimals(point.speedup()))));
        }
        return members;
    }

    private static String object(List<String> members, String indent) {
        return members.stream().map(m -> indent + "  " + m)
                .collect(Collectors.joining(",\n", "{\n", "\n" + indent + "}"));
    }

    private static String member(String name, Object value) {
        return "\"" + name + "\": " + value;
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String list(List<Double> values) {
        return values.stream().map(BenchJson::ms).collect(Collectors.joining(", ", "[", "]"));
    }

    private static String ms(double value) {
        return String.format(Locale.ROOT, "%.3f", value);
    }

    private static String twoDecimals(double value) {
        return String.format(Locale.ROOT, "%.2f", value);
    }
}
