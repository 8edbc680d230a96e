package dev.moba.testing;

import dev.moba.tensor.DType;
import dev.moba.verify.CaseFiles;
import dev.moba.verify.GoldenCase;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The golden reference cases shipped as test resources under {@code golden/<name>/}; works from the test-jar too.
 */
public final class GoldenCases {

    /** Every case, in alphabetical order. */
    public static final List<String> NAMES =
            List.of("gqa", "single-partial-block", "topk-covers-all-dense", "topk1-block-local", "varlen-batch");

    /** The files of each case. */
    public static final List<String> FILES =
            List.of("case.json", "q.npy", "k.npy", "v.npy", "out.npy", "out_bf16.npy", "out_fp16.npy");

    private GoldenCases() {}

    /** {@link #NAMES}, for {@code @MethodSource}. */
    public static List<String> names() {
        return NAMES;
    }

    /** Loads case {@code name} with the expected output for {@code dtype}; tensors live in {@code arena}. */
    public static GoldenCase load(String name, DType dtype, Arena arena) {
        return GoldenCase.load(name, files(name), dtype, arena);
    }

    /** The class-path files of case {@code name}. */
    public static CaseFiles files(String name) {
        return CaseFiles.classpath(GoldenCases.class.getClassLoader(), "golden/" + name);
    }

    /** Copies case {@code name} into a new folder {@code parent/name} and returns it. */
    public static Path copyTo(Path parent, String name) {
        Path dir = parent.resolve(name);
        try {
            Files.createDirectories(dir);
            for (String file : FILES) {
                try (InputStream in = files(name).open(file)) {
                    Files.copy(in, dir.resolve(file));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /** Copies every case into {@code parent} and returns {@code parent}. */
    public static Path copyAllTo(Path parent) {
        NAMES.forEach(name -> copyTo(parent, name));
        return parent;
    }
}
