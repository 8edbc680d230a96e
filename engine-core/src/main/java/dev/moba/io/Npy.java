package dev.moba.io;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads NumPy {@code .npy} files holding little-endian float32 arrays of rank 3 in C order, as the engine's
 * reference cases do. Any other content is refused with a message naming the file and what is wrong.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    /**
     * Reads a {@code [tokens, heads, dim]} float32 array into an fp32 tensor allocated in {@code arena}.
     *
     * @param name how to name the file in errors
     */
    public static Tensor readTensor(InputStream in, String name, Arena arena) throws IOException {
        byte[] bytes = in.readAllBytes();
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 10 || !Arrays.equals(bytes, 0, 6, MAGIC, 0, 6)) {
            throw malformed(name, "not a .npy file (bad magic string)");
        }
        int major = bytes[6];
        int headerLength;
        int headerStart;
        if (major == 1) {
            headerLength = Short.toUnsignedInt(buf.getShort(8));
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) throw malformed(name, "truncated header");
            headerLength = buf.getInt(8);
            headerStart = 12;
        } else {
            throw malformed(name, "unsupported .npy version " + major);
        }
        if (headerLength < 0 || headerStart + headerLength > bytes.length) {
            throw malformed(name, "truncated header");
        }
        String header = new String(bytes, headerStart, headerLength, StandardCharsets.ISO_8859_1);
        String descr = find(DESCR, header, name, "descr");
        if (!descr.equals("<f4")) {
            throw malformed(name, "element type '" + descr + "' is not little-endian float32 '<f4'");
        }
        if (find(FORTRAN, header, name, "fortran_order").equals("True")) {
            throw malformed(name, "Fortran order is not supported");
        }
        int[] shape = parseShape(find(SHAPE, header, name, "shape"), name);
        if (shape.length != 3) {
            throw malformed(name, "shape " + Arrays.toString(shape) + " is not [tokens, heads, dim]");
        }
        if (shape[1] == 0 || shape[2] == 0) {
            throw malformed(name, "shape " + Arrays.toString(shape) + " has no heads or an empty head dimension");
        }
        int dataStart = headerStart + headerLength;
        long elements = (long) shape[0] * shape[1] * shape[2];
        long expected = elements * Float.BYTES;
        if (bytes.length - dataStart != expected) {
            throw malformed(name, "holds " + (bytes.length - dataStart) + " data bytes, shape "
                    + Arrays.toString(shape) + " needs " + expected);
        }
        Tensor tensor = Tensor.allocate(arena, DType.FP32, shape[0], shape[1], shape[2]);
        MemorySegment.copy(MemorySegment.ofArray(bytes), ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                dataStart, tensor.segment(), ValueLayout.JAVA_FLOAT, 0, elements);
        return tensor;
    }

    private static String find(Pattern pattern, String header, String name, String key) {
        Matcher m = pattern.matcher(header);
        if (!m.find()) {
            throw malformed(name, "header has no '" + key + "'");
        }
        return m.group(1);
    }

    private static int[] parseShape(String text, String name) {
        String[] parts = text.split(",");
        int count = 0;
        int[] shape = new int[parts.length];
        for (String part : parts) {
            String p = part.trim();
            if (p.isEmpty()) continue;
            try {
                shape[count++] = Integer.parseInt(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
            } catch (NumberFormatException e) {
                throw malformed(name, "bad shape '(" + text + ")'");
            }
        }
        int[] result = Arrays.copyOf(shape, count);
        for (int s : result) {
            if (s < 0) throw malformed(name, "negative dimension in shape " + Arrays.toString(result));
        }
        return result;
    }

    private static IllegalArgumentException malformed(String name, String problem) {
        return new IllegalArgumentException(name + ": " + problem);
    }
}
