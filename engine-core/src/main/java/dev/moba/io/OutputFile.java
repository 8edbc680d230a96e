package dev.moba.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A file a command writes whole or not at all: the content goes to a temporary file beside it, which then replaces
 * the target in one move, so a reader never sees half a file and a failure leaves none behind.
 * {@link #check} tells early whether the target can be written at all, before a long computation.
 */
public final class OutputFile {

    /** Writes the content to a stream. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private OutputFile() {}

    /**
     * Checks that {@code target} could be written now: its folder exists and is writable and it is not a folder.
     *
     * @param what what the file is, for the message (for example {@code "--plot"})
     * @throws IllegalArgumentException naming the problem and the fix
     */
    public static void check(Path target, String what) {
        Path folder = folderOf(target);
        if (Files.isDirectory(target)) {
            throw new IllegalArgumentException(what + " " + target + " is a folder; give a file name in it");
        }
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException(what + " " + target + ": the folder " + folder
                    + " does not exist; create it first or pick a file in an existing folder");
        }
        if (!Files.isWritable(folder)) {
            throw new IllegalArgumentException(what + " " + target + ": the folder " + folder
                    + " is not writable; pick a file in a folder you can write to");
        }
    }

    /**
     * Writes {@code content} to {@code target}, replacing any file there, atomically where the file system can.
     *
     * @param what what the file is, for the message of an error
     * @throws IllegalArgumentException when the file cannot be written; nothing is left behind
     */
    public static void write(Path target, String what, Content content) {
        check(target, what);
        Path folder = folderOf(target);
        Path temporary = null;
        try {
            // Not createTempFile: its owner-only permissions would stay with the file.
            temporary = folder.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "."
                    + System.nanoTime() + ".part");
            try (OutputStream out = Files.newOutputStream(temporary, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                content.writeTo(out);
            }
            move(temporary, target);
        } catch (IOException e) {
            deleteQuietly(temporary);
            throw new IllegalArgumentException("cannot write " + what + " " + target + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(temporary);
            throw e;
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static Path folderOf(Path target) {
        Path parent = target.toAbsolutePath().getParent();
        return parent == null ? target.toAbsolutePath().getRoot() : parent;
    }

    private static void deleteQuietly(Path path) {
        if (path == null) return;
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // Best effort: the error being reported matters more than a stray temporary file.
        }
    }
}
