package dev.moba.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.NpyFiles;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

    private static Tensor read(byte[] bytes, Arena arena) throws IOException {
        return Npy.readTensor(new ByteArrayInputStream(bytes), "x.npy", arena);
    }

    private static byte[] data(int floats) {
        ByteBuffer b = ByteBuffer.allocate(floats * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < floats; i++) b.putFloat(i * 0.5f);
        return b.array();
    }

    @Test
    void readsALittleEndianFloat32Array() throws IOException {
        float[] values = {1f, -2.5f, 3e-8f, Float.MAX_VALUE, 0f, -0f};
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = read(NpyFiles.float32(new int[] {1, 2, 3}, values), arena);
            assertThat(t.shapeText()).isEqualTo("[1, 2, 3]");
            assertThat(t.toFloatArray()).containsExactly(values);
        }
    }

    @Test
    void readsHeadersAsNumpyWritesThem() throws IOException {
        // The header NumPy 1.x/2.x writes for np.zeros((2, 1, 2), np.float32), and a version 2.0 header.
        try (Arena arena = Arena.ofConfined()) {
            byte[] v1 = NpyFiles.withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 2), }", data(4));
            assertThat(read(v1, arena).toFloatArray()).containsExactly(0f, 0.5f, 1f, 1.5f);

            String dict = "{'shape': (1L, 1L, 3L), 'fortran_order': False, 'descr': '<f4'}\n";
            ByteBuffer v2 = ByteBuffer.allocate(12 + dict.length() + 12).order(ByteOrder.LITTLE_ENDIAN);
            v2.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(dict.length());
            v2.put(dict.getBytes()).put(data(3));
            assertThat(read(v2.array(), arena).toFloatArray()).containsExactly(0f, 0.5f, 1f);
        }
    }

    @Test
    void rejectsABadMagicString() {
        byte[] bytes = NpyFiles.float32(new int[] {1, 1, 1}, new float[] {1f});
        bytes[1] = 'X';
        assertRefused(bytes, "x.npy: not a .npy file (bad magic string)");
        assertRefused(new byte[] {(byte) 0x93, 'N', 'U'}, "x.npy: not a .npy file");
        assertRefused("just text, long enough".getBytes(), "x.npy: not a .npy file");
    }

    @Test
    void rejectsOtherElementTypes() {
        assertRefused(NpyFiles.withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1), }", new byte[8]),
                "x.npy: element type '<f8' is not little-endian float32 '<f4'");
        assertRefused(NpyFiles.withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1, 1), }", new byte[4]),
                "element type '>f4'");
        assertRefused(NpyFiles.withHeader("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 1), }", new byte[4]),
                "element type '<i4'");
    }

    @Test
    void rejectsFortranOrderAndOtherRanks() {
        assertRefused(NpyFiles.withHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1, 1), }", data(1)),
                "x.npy: Fortran order is not supported");
        assertRefused(NpyFiles.float32(new int[] {2, 3}, new float[6]), "x.npy: shape [2, 3] is not [tokens, heads, dim]");
        assertRefused(NpyFiles.float32(new int[] {6}, new float[6]), "shape [6] is not");
        assertRefused(NpyFiles.float32(new int[] {1, 1, 2, 3}, new float[6]), "shape [1, 1, 2, 3] is not");
    }

    @Test
    void rejectsEmptyHeadOrDimAxesNamingTheFile() {
        assertRefused(NpyFiles.float32(new int[] {4, 0, 3}, new float[0]), "x.npy: shape [4, 0, 3] has no heads");
        assertRefused(NpyFiles.float32(new int[] {4, 2, 0}, new float[0]),
                "x.npy: shape [4, 2, 0] has no heads or an empty head dimension");
    }

    @Test
    void rejectsMissingHeaderKeysAndBadShapes() {
        assertRefused(NpyFiles.withHeader("{'descr': '<f4', 'shape': (1, 1, 1), }", data(1)),
                "x.npy: header has no 'fortran_order'");
        assertRefused(NpyFiles.withHeader("{'descr': '<f4', 'fortran_order': False}", data(1)),
                "x.npy: header has no 'shape'");
        assertRefused(NpyFiles.withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1, x, 1), }", data(1)),
                "x.npy: bad shape");
        assertRefused(NpyFiles.withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -1, 1), }", data(1)),
                "x.npy: negative dimension");
    }

    @Test
    void rejectsTruncatedOrOverlongData() {
        byte[] whole = NpyFiles.float32(new int[] {2, 2, 2}, new float[8]);
        assertRefused(Arrays.copyOf(whole, whole.length - 1), "x.npy: holds 31 data bytes, shape [2, 2, 2] needs 32");
        assertRefused(Arrays.copyOf(whole, whole.length + 4), "x.npy: holds 36 data bytes");
        assertRefused(Arrays.copyOf(whole, 40), "x.npy: truncated header");
    }

    @Test
    void rejectsUnknownVersions() {
        byte[] bytes = NpyFiles.float32(new int[] {1, 1, 1}, new float[] {1f});
        bytes[6] = 9;
        assertRefused(bytes, "x.npy: unsupported .npy version 9");
    }

    @Test
    void mapsArraysOfEverySupportedTypeWithoutCopying(@TempDir Path dir) throws IOException {
        Path f4 = Files.write(dir.resolve("q.npy"), NpyFiles.float32(new int[] {1, 2, 2}, new float[] {1, 2, 3, 4}));
        ByteBuffer halves = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-2f));
        Path f2 = Files.write(dir.resolve("k.npy"), NpyFiles.withHeader(
                "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 1, 2), }", halves.array()));
        ByteBuffer ints = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(5).putInt(9);
        Path i4 = Files.write(dir.resolve("cu.npy"), NpyFiles.withHeader(
                "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", ints.array()));
        try (Arena arena = Arena.ofConfined()) {
            StoredArray q = Npy.map(f4, "q", arena);
            assertThat(q.type()).isEqualTo(ElementType.F32);
            assertThat(q.data().isMapped()).isTrue();
            assertThat(q.asTensor().toFloatArray()).containsExactly(1, 2, 3, 4);
            StoredArray k = Npy.map(f2, "k", arena);
            assertThat(k.asTensor().dtype()).isEqualTo(DType.FP16);
            assertThat(k.asTensor().toFloatArray()).containsExactly(1.5f, -2f);
            assertThat(Npy.map(i4, "cu", arena).toIntArray()).containsExactly(0, 5, 9);
        }
    }

    @Test
    void writesFilesNumpyAndTheReadersRead(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("out.npy");
        try (OutputFiles output = new OutputFiles()) {
            MemorySegment data = Npy.create(output, file, ElementType.F32, new long[] {2, 1, 2});
            MemorySegment.copy(new float[] {1f, -1f, 0.5f, 2f}, 0, data, ValueLayout.JAVA_FLOAT, 0, 4);
            output.commit();
        }
        byte[] bytes = Files.readAllBytes(file);
        String dictionary = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 2), }";
        assertThat(bytes).hasSize(128 + 16);
        assertThat(new String(bytes, 10, 118)).isEqualTo(dictionary + " ".repeat(117 - dictionary.length()) + "\n");
        try (Arena arena = Arena.ofConfined()) {
            assertThat(read(bytes, arena).toFloatArray()).containsExactly(1f, -1f, 0.5f, 2f);
        }
        assertThat(new String(Npy.header(ElementType.I32, new long[] {4}))).contains("'shape': (4,)");
        assertThatThrownBy(() -> Npy.header(ElementType.BF16, new long[] {4}))
                .hasMessage("BF16 has no .npy type: write safetensors instead");
    }

    @Test
    void mappingRefusesUnsupportedOrMalformedFilesSayingHowToFixThem(@TempDir Path dir) throws IOException {
        Path f8 = Files.write(dir.resolve("a.npy"), NpyFiles.withHeader(
                "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]));
        byte[] whole = NpyFiles.float32(new int[] {1, 1, 4}, new float[4]);
        Path truncated = Files.write(dir.resolve("b.npy"), Arrays.copyOf(whole, whole.length - 10));
        Path header = Files.write(dir.resolve("c.npy"), Arrays.copyOf(
                NpyFiles.float32(new int[] {1, 1, 4}, new float[4]), 30));
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> Npy.map(f8, "a", arena)).hasMessage(f8 + ": element type '>f4' is not supported:"
                    + " save little-endian float32 ('<f4'), float16 ('<f2') or int32 ('<i4') arrays");
            assertThatThrownBy(() -> Npy.map(truncated, "b", arena)).hasMessage(truncated + ": holds 6 data bytes,"
                    + " shape [1, 1, 4] needs 16: write the file again with numpy.save");
            assertThatThrownBy(() -> Npy.map(header, "c", arena)).hasMessage(header + ": truncated header: write"
                    + " the file again with numpy.save");
        }
    }

    private static void assertRefused(byte[] bytes, String message) {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> read(bytes, arena)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(message);
        }
    }
}
