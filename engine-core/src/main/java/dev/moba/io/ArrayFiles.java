package dev.moba.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Named arrays in either of two containers, chosen by the path: a file whose name ends in {@code .safetensors} is a
 * safetensors file; any other path is a folder holding one {@code NAME.npy} file per array.
 */
public final class ArrayFiles {

    /** The two containers. */
    public enum Format {
        SAFETENSORS,
        NPY_FOLDER;

        /** The container {@code path} names: safetensors when its name ends in {@code .safetensors}. */
        public static Format of(Path path) {
            Path name = path.getFileName();
            return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".safetensors")
                    ? SAFETENSORS : NPY_FOLDER;
        }
    }

    private ArrayFiles() {}

    /**
     * Maps, in {@code arena} and without copying, every tensor of a safetensors file (its header is checked whole),
     * or the file {@code NAME.npy} of a folder for each of {@code names} that exists.
     *
     * @throws IllegalArgumentException naming the file for a malformed one
     */
    public static Map<String, StoredArray> map(Path path, List<String> names, Arena arena) throws IOException {
        if (Format.of(path) == Format.SAFETENSORS) {
            return Safetensors.map(path, arena);
        }
        Map<String, StoredArray> found = new LinkedHashMap<>();
        for (String name : names) {
            Path file = path.resolve(name + ".npy");
            if (Files.exists(file)) found.put(name, Npy.map(file, name, arena));
        }
        return found;
    }

    /**
     * Lays out {@code arrays} in a container at {@code path} in {@code output} (creating the folder of an npy
     * container) and returns each array's mapped segment, by name, to fill before the output's commit.
     * {@code metadata} goes into a safetensors header; a folder has no place for it.
     */
    public static Map<String, MemorySegment> create(OutputFiles output, Path path, List<ArraySpec> arrays,
                                                    Map<String, String> metadata) {
        if (Format.of(path) == Format.SAFETENSORS) {
            return Safetensors.create(output, path, arrays, metadata);
        }
        output.folder(path);
        Map<String, MemorySegment> segments = new LinkedHashMap<>();
        for (ArraySpec a : arrays) {
            segments.put(a.name(), Npy.create(output, path.resolve(a.name() + ".npy"), a.type(), a.shape()));
        }
        return segments;
    }
}
