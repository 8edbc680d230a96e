package dev.moba.cli;

import com.typesafe.config.ConfigFactory;
import dev.moba.engine.MobaEngine;
import dev.moba.spi.Backend;
import dev.moba.tensor.DType;
import dev.moba.verify.CaseFiles;
import dev.moba.verify.CaseResult;
import dev.moba.verify.CaseRunner;
import dev.moba.verify.GoldenCase;
import dev.moba.verify.StreamPath;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code moba verify}: runs reference cases through the streaming engine (a session per sequence, fed by a stream
 * of chunks) and compares the outputs with the expected ones.
 * Exit status 0 when every case is within the dtype's tolerance, 1 when one is not, 2 for unusable input.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check the engine against reference cases (folders with case.json, q/k/v.npy, out*.npy):"
                + " each sequence a session fed by a stream of chunks, its output compared with the expected one.",
                "Ends with: verify: <n> cases, max abs error <x>, mean abs error <y>, pass|FAIL"},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:every case is within the dtype's tolerance (fp32: 1e-5 max abs; bf16, fp16: 2e-2 max,"
                        + " 4e-4 mean abs)",
                "1:a case is off by more than the tolerance",
                "2:unusable input (a missing or malformed case, an unknown backend); the message names it and"
                        + " the fix"},
        footerHeading = "%nExamples:%n",
        footer = {"  moba verify engine-core/src/test/resources/golden",
                "  moba verify --dtype bf16 --chunk 64 engine-core/src/test/resources/golden",
                "  moba verify --backend onednn engine-core/src/test/resources/golden"})
final class VerifyCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "java",
            description = "Backend: java, auto, onednn, cuda or a plugin id (default: ${DEFAULT-VALUE}, the reference).")
    private String backend;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "fp32", converter = DTypeConverter.class,
            description = "Storage type: fp32, bf16 or fp16 (default: ${DEFAULT-VALUE}).")
    private DType dtype;

    @Option(names = "--chunk", paramLabel = "N", defaultValue = "0",
            description = "Feed sequences in chunks of N tokens (default: one-shot).")
    private int chunk;

    @Option(names = "--threads", paramLabel = "T",
            description = "Backend worker threads (default: moba.threads, all processors).")
    private Integer threads;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "A case folder, or a folder of case folders.")
    private List<Path> paths;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        OptionChecks.requireAtLeast("--chunk", chunk, 0, "e.g. --chunk 64, or leave it out to feed whole sequences");
        List<Path> cases = new ArrayList<>();
        for (Path path : paths) {
            cases.addAll(caseFolders(path));
        }
        long elements = 0;
        double max = 0;
        double sum = 0;
        boolean pass = true;
        try (Backend opened = ConfiguredBackend.open(backend, threads);
             MobaEngine engine = MobaEngine.create(ConfigFactory.load(), opened)) {
            CaseRunner runner = new CaseRunner(new StreamPath(engine, dtype, chunk), dtype);
            for (Path dir : cases) {
                String name = dir.getFileName().toString();
                CaseResult result;
                try (Arena arena = Arena.ofShared()) {
                    result = runner.run(GoldenCase.load(name, CaseFiles.folder(dir), dtype, arena));
                }
                out.printf(Locale.ROOT, "%-24s backend=%s dtype=%s chunk=%s max_abs=%.3e mean_abs=%.3e %s%n",
                        name, opened.id(), dtype, chunk == 0 ? "one-shot" : chunk, result.maxAbs(),
                        result.meanAbs(), result.pass() ? "pass" : "FAIL");
                out.flush();
                elements += result.elements();
                max = Double.isNaN(result.maxAbs()) ? Double.NaN : Math.max(max, result.maxAbs());
                sum += result.sumAbs();
                pass &= result.pass();
            }
        }
        out.printf(Locale.ROOT, "verify: %d cases, max abs error %.3e, mean abs error %.3e, %s%n", cases.size(), max,
                elements == 0 ? 0 : sum / elements, pass ? "pass" : "FAIL");
        return pass ? 0 : 1;
    }

    private static List<Path> caseFolders(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            throw new IllegalArgumentException(path + " is not a folder: give a case folder (case.json, q.npy, k.npy,"
                    + " v.npy, out.npy) or a folder of case folders, e.g. engine-core/src/test/resources/golden");
        }
        if (Files.exists(path.resolve("case.json"))) {
            return List.of(path);
        }
        try (Stream<Path> children = Files.list(path)) {
            List<Path> found = children.filter(p -> Files.exists(p.resolve("case.json"))).sorted().toList();
            if (found.isEmpty()) {
                throw new IllegalArgumentException(path + " holds no case (no case.json in it or its sub-folders):"
                        + " give a case folder or a folder of case folders, e.g. engine-core/src/test/resources/golden");
            }
            return found;
        }
    }
}
