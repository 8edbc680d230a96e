package dev.moba.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputFileTest {

    @TempDir
    Path dir;

    @Test
    void writesAndReplacesWholeFiles() throws IOException {
        Path target = dir.resolve("out.txt");
        OutputFile.write(target, "--out", out -> out.write("first".getBytes(StandardCharsets.UTF_8)));
        OutputFile.write(target, "--out", out -> out.write("second".getBytes(StandardCharsets.UTF_8)));
        assertThat(Files.readString(target)).isEqualTo("second");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(target);
        }
    }

    @Test
    void aFailingWriteLeavesTheOldFileAndNoPart() throws IOException {
        Path target = dir.resolve("out.txt");
        Files.writeString(target, "old");
        assertThatThrownBy(() -> OutputFile.write(target, "--out", out -> {
            out.write("half".getBytes(StandardCharsets.UTF_8));
            throw new IOException("disk full");
        })).isInstanceOf(IllegalArgumentException.class).hasMessage("cannot write --out " + target + ": disk full");
        assertThat(Files.readString(target)).isEqualTo("old");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(target);
        }
    }

    @Test
    void aMissingFolderOrAFolderAsTargetIsNamedWithTheFix() {
        Path missing = dir.resolve("nowhere/out.png");
        assertThatThrownBy(() -> OutputFile.check(missing, "--plot"))
                .hasMessage("--plot " + missing + ": the folder " + dir.resolve("nowhere")
                        + " does not exist; create it first or pick a file in an existing folder");
        assertThatThrownBy(() -> OutputFile.write(missing, "--plot", out -> {}))
                .hasMessageContaining("does not exist");
        assertThat(dir.resolve("nowhere")).doesNotExist();
        assertThatThrownBy(() -> OutputFile.check(dir, "--plot"))
                .hasMessage("--plot " + dir + " is a folder; give a file name in it");
    }
}
