package dev.moba.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Writes safetensors files byte by byte, independently of the engine's writer, well-formed or deliberately not,
 * as {@code safetensors.torch.save_file} lays them out: header length, JSON header padded with spaces to 8 bytes,
 * tensors back to back.
 */
public final class SafetensorsFiles {

    /** One tensor: its header entry is derived from {@code dtype}, {@code shape} and the length of {@code data}. */
    public record Entry(String name, String dtype, long[] shape, byte[] data) {}

    private SafetensorsFiles() {}

    /** A well-formed file holding {@code entries} in order. */
    public static byte[] of(List<Entry> entries) {
        StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Entry e : entries) {
            int begin = data.size();
            data.writeBytes(e.data());
            header.append(",\"").append(e.name()).append("\":{\"dtype\":\"").append(e.dtype())
                    .append("\",\"shape\":[").append(Arrays.stream(e.shape()).mapToObj(Long::toString)
                            .collect(Collectors.joining(","))).append("],\"data_offsets\":[").append(begin)
                    .append(',').append(data.size()).append("]}");
        }
        header.append('}');
        return withHeader(header.toString(), data.toByteArray());
    }

    /** A file with the given header text (padded with spaces to 8 bytes) and raw data. */
    public static byte[] withHeader(String header, byte[] data) {
        byte[] text = header.getBytes(StandardCharsets.UTF_8);
        int padded = (text.length + 7) / 8 * 8;
        ByteBuffer file = ByteBuffer.allocate(8 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(padded).put(text);
        for (int i = text.length; i < padded; i++) {
            file.put((byte) ' ');
        }
        return file.put(data).array();
    }

    /** Writes {@code bytes} to {@code file}. */
    public static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An F32 entry. */
    public static Entry f32(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : values) b.putFloat(x);
        return new Entry(name, "F32", shape, b.array());
    }

    /** A BF16 entry holding {@code values} truncated to their upper 16 bits (exact for bf16-rounded values). */
    public static Entry bf16(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : values) b.putShort((short) (Float.floatToRawIntBits(x) >>> 16));
        return new Entry(name, "BF16", shape, b.array());
    }

    /** An I32 entry. */
    public static Entry i32(String name, int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : values) b.putInt(x);
        return new Entry(name, "I32", new long[] {values.length}, b.array());
    }

    /** An entry of {@code dtype} with {@code bytes} zero bytes. */
    public static Entry zeros(String name, String dtype, long[] shape, int bytes) {
        return new Entry(name, dtype, shape, new byte[bytes]);
    }
}
