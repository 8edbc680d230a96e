package dev.moba.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputFilesTest {

    @TempDir
    Path dir;

    @Test
    void aCommitMovesEveryFileIntoPlaceReplacingWhatWasThere() throws IOException {
        Path a = dir.resolve("a.bin");
        Files.writeString(a, "old content, longer than the new");
        Path b = dir.resolve("sub/deeper/b.bin");
        try (OutputFiles output = new OutputFiles()) {
            output.mapped(a, 2).set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) 0x4241);
            output.folder(b.getParent());
            MemorySegment segment = output.mapped(b, 1);
            segment.set(ValueLayout.JAVA_BYTE, 0, (byte) 'c');
            assertThat(a).hasContent("old content, longer than the new");
            assertThat(b).doesNotExist();
            output.commit();
        }
        assertThat(a).hasContent("AB");
        if (Files.getFileStore(b).supportsFileAttributeView("posix")) {
            assertThat(Files.getPosixFilePermissions(b)).as("the permissions of any new file, not owner-only ones")
                    .isEqualTo(Files.getPosixFilePermissions(Files.createFile(dir.resolve("plain"))));
            Files.delete(dir.resolve("plain"));
        }
        assertThat(b).hasContent("c");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("a.bin", "sub");
        }
    }

    @Test
    void closingWithoutACommitLeavesNothingBehind() throws IOException {
        Path kept = dir.resolve("kept.bin");
        Files.writeString(kept, "untouched");
        try (OutputFiles output = new OutputFiles()) {
            output.mapped(kept, 16);
            output.folder(dir.resolve("new/folder"));
            output.mapped(dir.resolve("new/folder/x.npy"), 1 << 20);
        }
        assertThat(kept).hasContent("untouched");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(kept);
        }
    }

    @Test
    void aPlaceThatCannotBeWrittenIsNamed() throws IOException {
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        try (OutputFiles output = new OutputFiles()) {
            assertThatThrownBy(() -> output.mapped(dir.resolve("missing/out.safetensors"), 8))
                    .hasMessage("cannot write " + dir.resolve("missing/out.safetensors") + " (its folder does not"
                            + " exist): choose a place you can write to");
            assertThatThrownBy(() -> output.folder(file.resolve("sub")))
                    .hasMessageStartingWith("cannot write " + file.resolve("sub") + " (");
            assertThatThrownBy(() -> output.folder(file))
                    .hasMessageStartingWith(file + " is not a folder");
            assertThatThrownBy(() -> output.mapped(dir, 8)).hasMessageStartingWith(dir + " is a folder");
        }
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }

    @Test
    void aStreamedFileReplacesTheOldOneWhole() throws IOException {
        Path target = dir.resolve("out.txt");
        OutputFiles.write(target, "--out", out -> out.write("first".getBytes(StandardCharsets.UTF_8)));
        OutputFiles.write(target, "--out", out -> out.write("second".getBytes(StandardCharsets.UTF_8)));
        assertThat(target).hasContent("second");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(target);
        }
    }

    @Test
    void aFailingStreamLeavesTheOldFileAndNoTemporary() throws IOException {
        Path target = dir.resolve("out.txt");
        Files.writeString(target, "old");
        assertThatThrownBy(() -> OutputFiles.write(target, "--out", out -> {
            out.write("half".getBytes(StandardCharsets.UTF_8));
            throw new IOException("disk full");
        })).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--out: cannot write " + target + " (disk full): choose a place you can write to");
        assertThat(target).hasContent("old");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(target);
        }
    }

    @Test
    void aMissingFolderOrAFolderAsTargetIsNamedWithTheFixBeforeAnyWork() {
        Path missing = dir.resolve("nowhere/out.png");
        assertThatThrownBy(() -> OutputFiles.check(missing, "--plot"))
                .hasMessage("--plot " + missing + ": the folder " + dir.resolve("nowhere")
                        + " does not exist; create it first or pick a file in an existing folder");
        assertThatThrownBy(() -> OutputFiles.write(missing, "--plot", out -> {}))
                .hasMessageContaining("does not exist");
        assertThat(dir.resolve("nowhere")).doesNotExist();
        assertThatThrownBy(() -> OutputFiles.check(dir, "--plot"))
                .hasMessage("--plot " + dir + " is a folder; give a file name in it");
    }
}
