package dev.moba.verify;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Where the files of one reference case come from: a folder, or class-path resources. */
@FunctionalInterface
public interface CaseFiles {

    /**
     * Opens the case's file {@code name}.
     *
     * @throws NoSuchFileException when it does not exist
     */
    InputStream open(String name) throws IOException;

    /** Files of the folder {@code dir}. */
    static CaseFiles folder(Path dir) {
        return name -> Files.newInputStream(dir.resolve(name));
    }

    /** Resources under {@code prefix} (such as {@code golden/gqa}) of {@code loader}. */
    static CaseFiles classpath(ClassLoader loader, String prefix) {
        return name -> {
            InputStream in = loader.getResourceAsStream(prefix + "/" + name);
            if (in == null) {
                throw new NoSuchFileException(prefix + "/" + name);
            }
            return in;
        };
    }
}
