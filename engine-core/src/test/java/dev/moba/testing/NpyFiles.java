package dev.moba.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes NumPy {@code .npy} files (version 1.0), well-formed or deliberately not, for reader tests. */
public final class NpyFiles {

    private NpyFiles() {}

    /** A well-formed little-endian float32 array of {@code shape} holding {@code data}. */
    public static byte[] float32(int[] shape, float[] data) {
        StringBuilder dims = new StringBuilder();
        for (int s : shape) {
            dims.append(s).append(", ");
        }
        String shapeText = shape.length == 1 ? shape[0] + "," : dims.substring(0, dims.length() - 2);
        ByteBuffer body = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : data) {
            body.putFloat(x);
        }
        return withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (" + shapeText + "), }", body.array());
    }

    /**
     * A version 1.0 file with the given header dictionary and raw data; the header is padded with spaces and a
     * newline so that the data starts on a 64-byte boundary, as NumPy writes it.
     */
    public static byte[] withHeader(String dictionary, byte[] data) {
        int unpadded = 10 + dictionary.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String header = dictionary + " ".repeat(padding) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        out.write(header.length() & 0xFF);
        out.write(header.length() >>> 8);
        out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    /** Writes {@link #float32} to {@code file}. */
    public static void write(Path file, int[] shape, float[] data) {
        try {
            Files.write(file, float32(shape, data));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
