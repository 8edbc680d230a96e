package dev.moba.io;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (versions 1.0 to 3.0, C order, little-endian). {@link #readTensor} reads the float32
 * {@code [tokens, heads, dim]} arrays of the engine's reference cases into memory; {@link #map} maps an array of any
 * supported type and rank without copying it; {@link #create} writes one through a {@link OutputFiles}. Anything
 * else is refused with a message naming the file and what is wrong.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** NumPy aligns the data of the files it writes to 64 bytes; so does {@link #create}. */
    private static final int ALIGNMENT = 64;

    /** The parsed header of a file: where its data starts and what it holds. */
    private record Header(String descr, boolean fortranOrder, long[] shape, long dataStart) {}

    private Npy() {}

    /**
     * Reads a {@code [tokens, heads, dim]} float32 array into an fp32 tensor allocated in {@code arena}. Reads the
     * whole stream onto the heap first: meant for reference cases, not large inputs (see {@link #map}).
     *
     * @param name how to name the file in errors
     */
    public static Tensor readTensor(InputStream in, String name, Arena arena) throws IOException {
        byte[] bytes = in.readAllBytes();
        MemorySegment file = MemorySegment.ofArray(bytes);
        Header header = header(file, name);
        if (!header.descr().equals("<f4")) {
            throw malformed(name, "element type '" + header.descr() + "' is not little-endian float32 '<f4'");
        }
        if (header.fortranOrder()) {
            throw malformed(name, "Fortran order is not supported");
        }
        long[] shape = header.shape();
        if (shape.length != 3) {
            throw malformed(name, "shape " + Arrays.toString(shape) + " is not [tokens, heads, dim]");
        }
        if (shape[1] == 0 || shape[2] == 0) {
            throw malformed(name, "shape " + Arrays.toString(shape) + " has no heads or an empty head dimension");
        }
        long elements = requireData(file, header, Float.BYTES, name);
        Tensor tensor = Tensor.allocate(arena, DType.FP32, (int) shape[0], (int) shape[1], (int) shape[2]);
        MemorySegment.copy(file, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                header.dataStart(), tensor.segment(), ValueLayout.JAVA_FLOAT, 0, elements);
        return tensor;
    }

    /**
     * Maps {@code file} (read-only) in {@code arena} and returns its array, named {@code name}, as a view of the
     * mapping: no copy, whatever its size; pages are read as elements are. The view is valid while {@code arena} is
     * open.
     *
     * @throws IllegalArgumentException naming the file for a malformed file or an unsupported element type
     */
    public static StoredArray map(Path file, String name, Arena arena) throws IOException {
        MemorySegment mapped;
        try (FileChannel channel = FileChannel.open(file)) {
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        }
        String where = file.toString();
        Header header;
        try {
            header = header(mapped, where);
        } catch (IllegalArgumentException e) {
            throw withFix(e);
        }
        ElementType type = ElementType.ofNpy(header.descr()).orElseThrow(() -> malformed(where, "element type '"
                + header.descr() + "' is not supported: save little-endian float32 ('<f4'), float16 ('<f2') or"
                + " int32 ('<i4') arrays"));
        if (header.fortranOrder()) {
            throw malformed(where, "Fortran order is not supported: save numpy.ascontiguousarray(x)");
        }
        long elements;
        try {
            elements = requireData(mapped, header, type.bytes(), where);
        } catch (IllegalArgumentException e) {
            throw withFix(e);
        }
        return new StoredArray(name, type, header.shape(), mapped.asSlice(header.dataStart(),
                elements * type.bytes()));
    }

    /**
     * Creates {@code file} in {@code output} holding a {@code type} array of {@code shape} (header written, data
     * zero) and returns the mapped segment of its data, for the caller to fill before the output's commit.
     *
     * @throws IllegalArgumentException for a type NumPy cannot store (BF16, F8), or a file that cannot be written
     */
    public static MemorySegment create(OutputFiles output, Path file, ElementType type, long[] shape) {
        byte[] header = header(type, shape);
        long dataBytes = StoredArray.elements(shape) * type.bytes();
        MemorySegment mapped = output.mapped(file, header.length + dataBytes);
        MemorySegment.copy(header, 0, mapped, ValueLayout.JAVA_BYTE, 0, header.length);
        return mapped.asSlice(header.length, dataBytes);
    }

    /** The bytes before the data of a {@code .npy} file holding a {@code type} array of {@code shape}. */
    static byte[] header(ElementType type, long[] shape) {
        String descr = type.npyDescr().orElseThrow(() -> new IllegalArgumentException(
                type + " has no .npy type: write safetensors instead"));
        String dims = Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", "));
        String dictionary = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': ("
                + (shape.length == 1 ? dims + "," : dims) + "), }";
        // Version 1.0 unless the header outgrows its 2-byte length; padding puts the data on a 64-byte boundary.
        int prefix = dictionary.length() + 1 + 10 <= 0xFFFF ? 10 : 12;
        int padding = (int) ((ALIGNMENT - (prefix + dictionary.length() + 1) % ALIGNMENT) % ALIGNMENT);
        byte[] text = (dictionary + " ".repeat(padding) + "\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] bytes = new byte[prefix + text.length];
        System.arraycopy(MAGIC, 0, bytes, 0, MAGIC.length);
        MemorySegment segment = MemorySegment.ofArray(bytes);
        if (prefix == 10) {
            bytes[6] = 1;
            segment.set(U16, 8, (short) text.length);
        } else {
            bytes[6] = 2;
            segment.set(U32, 8, text.length);
        }
        System.arraycopy(text, 0, bytes, prefix, text.length);
        return bytes;
    }

    private static Header header(MemorySegment file, String name) {
        long size = file.byteSize();
        if (size < 10 || MemorySegment.mismatch(file, 0, MAGIC.length, MemorySegment.ofArray(MAGIC), 0,
                MAGIC.length) != -1) {
            throw malformed(name, "not a .npy file (bad magic string)");
        }
        int major = file.get(ValueLayout.JAVA_BYTE, 6);
        long headerLength;
        long headerStart;
        if (major == 1) {
            headerLength = Short.toUnsignedInt(file.get(U16, 8));
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (size < 12) throw malformed(name, "truncated header");
            headerLength = Integer.toUnsignedLong(file.get(U32, 8));
            headerStart = 12;
        } else {
            throw malformed(name, "unsupported .npy version " + major);
        }
        if (headerStart + headerLength > size) {
            throw malformed(name, "truncated header");
        }
        byte[] text = file.asSlice(headerStart, headerLength).toArray(ValueLayout.JAVA_BYTE);
        // Version 3.0 headers are UTF-8; the keys and values read here are ASCII in every version.
        String header = new String(text, StandardCharsets.ISO_8859_1);
        String descr = find(DESCR, header, name, "descr");
        boolean fortran = find(FORTRAN, header, name, "fortran_order").equals("True");
        long[] shape = parseShape(find(SHAPE, header, name, "shape"), name);
        return new Header(descr, fortran, shape, headerStart + headerLength);
    }

    /** Checks that the data after the header fills the shape exactly; returns the number of elements. */
    private static long requireData(MemorySegment file, Header header, int elementBytes, String name) {
        long elements;
        try {
            elements = StoredArray.elements(header.shape());
        } catch (ArithmeticException e) {
            throw malformed(name, "shape " + Arrays.toString(header.shape()) + " is too large");
        }
        long present = file.byteSize() - header.dataStart();
        long expected = elements * elementBytes;
        if (present != expected) {
            throw malformed(name, "holds " + present + " data bytes, shape " + Arrays.toString(header.shape())
                    + " needs " + expected);
        }
        return elements;
    }

    private static String find(Pattern pattern, String header, String name, String key) {
        Matcher m = pattern.matcher(header);
        if (!m.find()) {
            throw malformed(name, "header has no '" + key + "'");
        }
        return m.group(1);
    }

    private static long[] parseShape(String text, String name) {
        String[] parts = text.split(",");
        int count = 0;
        long[] shape = new long[parts.length];
        for (String part : parts) {
            String p = part.trim();
            if (p.isEmpty()) continue;
            try {
                shape[count++] = Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
            } catch (NumberFormatException e) {
                throw malformed(name, "bad shape '(" + text + ")'");
            }
        }
        long[] result = Arrays.copyOf(shape, count);
        for (long s : result) {
            if (s < 0) throw malformed(name, "negative dimension in shape " + Arrays.toString(result));
            if (s > Integer.MAX_VALUE) throw malformed(name, "dimension " + s + " is too large");
        }
        return result;
    }

    /** A structural problem of a file the user exported: saving it again is the fix. */
    private static IllegalArgumentException withFix(IllegalArgumentException e) {
        return new IllegalArgumentException(e.getMessage() + ": write the file again with numpy.save", e);
    }

    private static IllegalArgumentException malformed(String name, String problem) {
        return new IllegalArgumentException(name + ": " + problem);
    }
}
