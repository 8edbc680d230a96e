package dev.moba.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Safetensors files, the format {@code safetensors.torch.save_file} writes: an 8-byte little-endian header length,
 * a JSON header naming each tensor's {@code dtype}, {@code shape} and {@code data_offsets} (relative to the end of
 * the header), then the tensors' bytes, C order, little-endian.
 *
 * <p>{@link #map} maps a file and returns views of its tensors (no copy, whatever the file's size: pages are read as
 * elements are). {@link #create} lays a file out in a {@link OutputFiles} and returns the segments to fill.
 */
public final class Safetensors {

    /** The largest header accepted, as the reference implementation does: beyond it, the file is not one. */
    static final long MAX_HEADER = 100L << 20;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final String METADATA = "__metadata__";
    private static final String FIX = ": save it again with safetensors.torch.save_file";

    private Safetensors() {}

    /**
     * Maps {@code file} (read-only) in {@code arena} and returns its tensors by name, in data order, as views of the
     * mapping, valid while {@code arena} is open. Costs the header's parse; tensor data is not touched.
     *
     * @throws IllegalArgumentException naming the file, the problem and the fix for a truncated file, a malformed
     *                                  header, an unknown dtype or offsets that do not fit the shapes or the file
     */
    public static Map<String, StoredArray> map(Path file, Arena arena) throws IOException {
        MemorySegment mapped;
        try (FileChannel channel = FileChannel.open(file)) {
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        }
        String where = file.toString();
        long size = mapped.byteSize();
        if (size < Long.BYTES) {
            throw error(where, "holds " + size + " bytes, too few for the 8-byte header length a safetensors file"
                    + " starts with; the file is truncated or not safetensors" + FIX);
        }
        long headerLength = mapped.get(U64, 0);
        if (headerLength < 0 || headerLength > Math.min(size - Long.BYTES, MAX_HEADER)) {
            boolean beyondLimit = headerLength > MAX_HEADER || headerLength < 0;
            throw error(where, "header length " + Long.toUnsignedString(headerLength) + " does not fit the file of "
                    + size + " bytes" + (beyondLimit ? " (nor the 100 MiB limit)" : "")
                    + "; the file is truncated or not safetensors" + FIX);
        }
        String text = new String(mapped.asSlice(Long.BYTES, headerLength).toArray(ValueLayout.JAVA_BYTE),
                StandardCharsets.UTF_8);
        Object header;
        try {
            header = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw error(where, "malformed header (" + e.getMessage() + ")" + FIX);
        }
        if (!(header instanceof Map<?, ?> entries)) {
            throw error(where, "malformed header (not a JSON object)" + FIX);
        }
        long dataStart = Long.BYTES + headerLength;
        long dataSize = size - dataStart;
        List<Entry> found = new ArrayList<>();
        for (var e : entries.entrySet()) {
            String name = (String) e.getKey();
            if (!name.equals(METADATA)) {
                found.add(entry(where, name, e.getValue(), dataSize));
            }
        }
        found.sort(Comparator.comparingLong(Entry::begin));
        Map<String, StoredArray> arrays = new LinkedHashMap<>();
        for (int i = 0; i < found.size(); i++) {
            Entry entry = found.get(i);
            if (i > 0 && entry.begin() < found.get(i - 1).end()) {
                throw error(where, "tensors '" + found.get(i - 1).name() + "' and '" + entry.name()
                        + "' overlap" + FIX);
            }
            arrays.put(entry.name(), new StoredArray(entry.name(), entry.type(), entry.shape(),
                    mapped.asSlice(dataStart + entry.begin(), entry.end() - entry.begin())));
        }
        return arrays;
    }

    /**
     * Creates {@code file} in {@code output}: the header (with {@code metadata}, padded so that the data starts on
     * an 8-byte boundary) and room for {@code arrays}, stored in order. Returns each array's mapped segment, by
     * name, for the caller to fill before the output's commit.
     *
     * @throws IllegalArgumentException for duplicate names, or a file that cannot be written
     */
    public static Map<String, MemorySegment> create(OutputFiles output, Path file, List<ArraySpec> arrays,
                                                    Map<String, String> metadata) {
        StringBuilder json = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            json.append(quote(METADATA)).append(":{");
            metadata.forEach((k, v) -> json.append(quote(k)).append(':').append(quote(v)).append(','));
            json.setCharAt(json.length() - 1, '}');
            json.append(',');
        }
        long offset = 0;
        Map<String, long[]> offsets = new LinkedHashMap<>();
        for (ArraySpec a : arrays) {
            if (a.name().equals(METADATA) || offsets.containsKey(a.name())) {
                throw new IllegalArgumentException("cannot store a tensor named '" + a.name() + "' twice or as "
                        + METADATA);
            }
            long end = offset + a.bytes();
            offsets.put(a.name(), new long[] {offset, end});
            json.append(quote(a.name())).append(":{\"dtype\":").append(quote(a.type().name())).append(",\"shape\":")
                    .append(list(a.shape())).append(",\"data_offsets\":").append(list(offset, end)).append("},");
            offset = end;
        }
        json.setCharAt(json.length() - 1, '}');
        if (json.length() == 1) {
            json.append('}');
        }
        byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8; // the format allows trailing spaces; they align the data
        MemorySegment mapped = output.mapped(file, Long.BYTES + padded + offset);
        mapped.set(U64, 0, padded);
        MemorySegment.copy(header, 0, mapped, ValueLayout.JAVA_BYTE, Long.BYTES, header.length);
        mapped.asSlice(Long.BYTES + header.length, padded - header.length).fill((byte) ' ');
        Map<String, MemorySegment> segments = new LinkedHashMap<>();
        offsets.forEach((name, range) -> segments.put(name,
                mapped.asSlice(Long.BYTES + padded + range[0], range[1] - range[0])));
        return segments;
    }

    /** One tensor of a header, checked against the data's size. */
    private record Entry(String name, ElementType type, long[] shape, long begin, long end) {}

    private static Entry entry(String where, String name, Object value, long dataSize) {
        String tensor = "tensor '" + name + "'";
        if (!(value instanceof Map<?, ?> fields)) {
            throw error(where, "malformed header (" + tensor + " is not an object)" + FIX);
        }
        if (!(fields.get("dtype") instanceof String dtype)) {
            throw error(where, "malformed header (" + tensor + " has no dtype)" + FIX);
        }
        ElementType type = ElementType.ofSafetensors(dtype).orElseThrow(() -> error(where, tensor
                + " has unknown dtype '" + dtype + "'" + FIX));
        long[] shape = integers(where, tensor, "shape", fields.get("shape"));
        long[] offsets = integers(where, tensor, "data_offsets", fields.get("data_offsets"));
        if (offsets.length != 2 || offsets[0] > offsets[1]) {
            throw error(where, "malformed header (" + tensor + " data_offsets must be [begin, end])" + FIX);
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(StoredArray.elements(shape), type.bytes());
        } catch (ArithmeticException e) {
            throw error(where, tensor + " is too large" + FIX);
        }
        if (offsets[1] - offsets[0] != bytes) {
            throw error(where, tensor + " (" + type + " " + Arrays.toString(shape) + ") needs " + bytes
                    + " bytes but its data_offsets [" + offsets[0] + ", " + offsets[1] + "] hold "
                    + (offsets[1] - offsets[0]) + FIX);
        }
        if (offsets[1] > dataSize) {
            throw error(where, tensor + " ends at data byte " + offsets[1] + " but the file holds only " + dataSize
                    + " data bytes; the file is truncated" + FIX);
        }
        return new Entry(name, type, shape, offsets[0], offsets[1]);
    }

    private static long[] integers(String where, String tensor, String field, Object value) {
        if (!(value instanceof List<?> list)) {
            throw error(where, "malformed header (" + tensor + " has no " + field + " list)" + FIX);
        }
        long[] result = new long[list.size()];
        for (int i = 0; i < result.length; i++) {
            // JSON numbers arrive as doubles: exact up to 2^53, far beyond any file.
            if (!(list.get(i) instanceof Double d) || d != Math.rint(d) || d < 0 || d > 0x1p53) {
                throw error(where, "malformed header (" + tensor + " " + field + " holds " + list.get(i)
                        + ", not a non-negative integer)" + FIX);
            }
            result[i] = (long) (double) d;
        }
        return result;
    }

    private static String list(long... values) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) {
            sb.append(i == 0 ? "" : ",").append(values[i]);
        }
        return sb.append(']').toString();
    }

    private static String quote(String text) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static IllegalArgumentException error(String where, String problem) {
        return new IllegalArgumentException(where + ": " + problem);
    }
}
