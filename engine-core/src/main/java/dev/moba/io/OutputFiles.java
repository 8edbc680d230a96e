package dev.moba.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Output files written all or nothing. Each file goes first to a temporary file next to its destination: either
 * {@link #mapped} for writing in place (large results go straight to the page cache, no heap copies) or
 * {@link #streamed} from a {@link Content}. {@link #commit} flushes them and moves each into place, atomically where
 * the file system can; {@link #close} without a commit deletes them (and any folder {@link #folder} created), so a
 * failure leaves no partial output behind and a reader never sees half a file.
 *
 * <pre>{@code
 * try (OutputFiles output = new OutputFiles()) {
 *     MemorySegment bytes = output.mapped(Path.of("out.safetensors"), size);
 *     ... fill bytes ...
 *     output.commit();
 * }
 * OutputFiles.check(Path.of("sweep.png"), "--plot");           // before a long computation
 * OutputFiles.write(Path.of("sweep.png"), "--plot", stream -> ...); // one streamed file, committed at once
 * }</pre>
 *
 * <p>Not thread-safe; the mapped segments may be written by any thread until the commit or close.
 */
public final class OutputFiles implements AutoCloseable {

    /** Writes the content of one file to a stream. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private record Pending(Path temp, Path target) {}

    private final Arena mappings = Arena.ofShared();
    private final List<Pending> files = new ArrayList<>();
    private final List<Path> createdFolders = new ArrayList<>();
    private boolean done;

    /**
     * Checks that {@code target} could be written now: it is not a folder, and its folder exists and is writable.
     * Costs a few file-system look-ups; meant for before a computation whose result would otherwise be lost.
     *
     * @param what what the file is, for the message (for example {@code "--plot"})
     * @throws IllegalArgumentException naming the problem and the fix
     */
    public static void check(Path target, String what) {
        if (Files.isDirectory(target)) {
            throw new IllegalArgumentException(what + " " + target + " is a folder; give a file name in it");
        }
        Path folder = target.toAbsolutePath().getParent();
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
     * Writes one file whole or not at all: {@link #check}, then {@link #streamed} and {@link #commit}.
     *
     * @param what what the file is, for the message of an error (for example {@code "--json"})
     * @throws IllegalArgumentException when the file cannot be written; the old file, if any, stays as it was
     */
    public static void write(Path target, String what, Content content) {
        check(target, what);
        try (OutputFiles output = new OutputFiles()) {
            output.streamed(target, content);
            output.commit();
        } catch (UncheckedIOException | IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
    }

    /**
     * Creates {@code dir} (and missing parents) unless it exists; a close without commit removes what it created.
     *
     * @throws IllegalArgumentException naming the folder and the problem when it cannot be created
     */
    public void folder(Path dir) {
        requireOpen();
        Path absolute = dir.toAbsolutePath();
        List<Path> missing = new ArrayList<>();
        for (Path p = absolute; p != null && !Files.exists(p); p = p.getParent()) {
            missing.addFirst(p);
        }
        for (Path p : missing) {
            try {
                Files.createDirectory(p);
            } catch (IOException e) {
                throw cannotWrite(p, e);
            }
            createdFolders.addFirst(p);
        }
        if (!Files.isDirectory(absolute)) {
            throw new IllegalArgumentException(dir + " is not a folder: name a folder for .npy output, or a file"
                    + " ending in .safetensors");
        }
    }

    /**
     * A new temporary file of {@code size} bytes (zeros) next to {@code target}, mapped for reading and writing until
     * the commit or close. Costs no memory until written: the file is sparse and the mapping paged.
     *
     * @throws IllegalArgumentException naming the target and the problem when its folder cannot be written
     */
    public MemorySegment mapped(Path target, long size) {
        Path temp = pending(target);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, size, mappings);
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
    }

    /**
     * Writes {@code content} now to a new temporary file next to {@code target}; it replaces the target at the commit.
     * Costs what the content costs to write, through a buffered stream.
     *
     * @throws IllegalArgumentException naming the target and the problem when it cannot be written
     */
    public void streamed(Path target, Content content) {
        Path temp = pending(target);
        try (OutputStream out = Files.newOutputStream(temp, StandardOpenOption.WRITE)) {
            content.writeTo(out);
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
    }

    /**
     * Flushes every file to disk and moves each into place, replacing what was there. The mapped segments are no
     * longer valid afterwards.
     *
     * @throws UncheckedIOException when a flush or move fails; {@link #close} then removes what is left
     */
    public void commit() {
        requireOpen();
        mappings.close(); // unmaps, after which the files hold every byte written through the mappings
        try {
            for (Pending file : files) {
                try (FileChannel channel = FileChannel.open(file.temp(), StandardOpenOption.WRITE)) {
                    channel.force(true);
                }
            }
            for (Pending file : files) {
                move(file.temp(), file.target());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the output: " + e.getMessage(), e);
        }
        done = true;
    }

    /** Without a commit, deletes every temporary file and the folders {@link #folder} created; otherwise nothing. */
    @Override
    public void close() {
        if (done) {
            return;
        }
        done = true;
        if (mappings.scope().isAlive()) {
            mappings.close();
        }
        for (Pending file : files) {
            deleteQuietly(file.temp());
        }
        for (Path dir : createdFolders) {
            deleteQuietly(dir);
        }
    }

    /** A new empty temporary file for {@code target}, deleted by a close without commit. */
    private Path pending(Path target) {
        requireOpen();
        Path absolute = target.toAbsolutePath();
        if (Files.isDirectory(absolute)) {
            throw new IllegalArgumentException(target + " is a folder: name a file to write, or remove the folder");
        }
        Path temp;
        try {
            temp = createTemp(absolute.getParent(), absolute.getFileName().toString());
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
        files.add(new Pending(temp, absolute));
        return temp;
    }

    /**
     * A new empty file {@code .NAME.RANDOM.tmp} in {@code dir}, with the permissions any new file gets (not the
     * owner-only ones of {@link Files#createTempFile}: it becomes the output).
     */
    private static Path createTemp(Path dir, String name) throws IOException {
        while (true) {
            String random = Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
            try {
                return Files.createFile(dir.resolve("." + name + "." + random + ".tmp"));
            } catch (FileAlreadyExistsException taken) {
                // Another writer drew the same name: draw again.
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private void requireOpen() {
        if (done) throw new IllegalStateException("output already committed or closed");
    }

    /** Best effort: cleanup must not hide the error that led to it. */
    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // A leftover the user can see beats masking the original failure.
        }
    }

    private static IllegalArgumentException cannotWrite(Path target, IOException e) {
        String reason = switch (e) {
            case AccessDeniedException _ -> "permission denied";
            case NoSuchFileException _ -> "its folder does not exist";
            case FileSystemException f when f.getReason() != null -> f.getReason();
            default -> e.getMessage();
        };
        return new IllegalArgumentException("cannot write " + target + " (" + reason + "): choose a place you can"
                + " write to");
    }
}
