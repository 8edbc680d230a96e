package dev.moba.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.tensor.Tensor;
import dev.moba.testing.NpyFiles;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

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

    private static void assertRefused(byte[] bytes, String message) {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> read(bytes, arena)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(message);
        }
    }
}
