package dev.moba.io;

import static dev.moba.testing.SafetensorsFiles.bf16;
import static dev.moba.testing.SafetensorsFiles.f32;
import static dev.moba.testing.SafetensorsFiles.i32;
import static dev.moba.testing.SafetensorsFiles.zeros;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import dev.moba.testing.SafetensorsFiles;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    @TempDir
    Path dir;

    @Test
    void mapsTensorsAsViewsOfTheFile() throws IOException {
        float[] q = {1f, -2f, 3.5f, 0.25f, 5f, 6f};
        Path file = SafetensorsFiles.write(dir.resolve("x.safetensors"), SafetensorsFiles.of(List.of(
                f32("q", new long[] {1, 2, 3}, q), i32("cu_seqlens", 0, 1), bf16("k", new long[] {1, 1, 3},
                        new float[] {1f, 2f, -0.5f}))));
        try (Arena arena = Arena.ofConfined()) {
            Map<String, StoredArray> arrays = Safetensors.map(file, arena);
            assertThat(arrays.keySet()).containsExactly("q", "cu_seqlens", "k");
            Tensor tq = arrays.get("q").asTensor();
            assertThat(tq.shapeText()).isEqualTo("[1, 2, 3]");
            assertThat(tq.toFloatArray()).containsExactly(q);
            assertThat(tq.segment().isMapped()).as("a view of the mapping, not a copy").isTrue();
            assertThat(arrays.get("cu_seqlens").toIntArray()).containsExactly(0, 1);
            Tensor tk = arrays.get("k").asTensor();
            assertThat(tk.dtype()).isEqualTo(DType.BF16);
            assertThat(tk.toFloatArray()).containsExactly(1f, 2f, -0.5f);
        }
    }

    @Test
    void writesWhatItReadsWithTheDataOnAnEightByteBoundary() throws IOException {
        Path file = dir.resolve("out.safetensors");
        try (OutputFiles output = new OutputFiles()) {
            Map<String, MemorySegment> arrays = Safetensors.create(output, file, List.of(
                    new ArraySpec("out", ElementType.F32, new long[] {2, 1, 2}),
                    new ArraySpec("selection", ElementType.I32, new long[] {2, 1, 1})), Map.of("top_k", "3"));
            MemorySegment.copy(new float[] {1f, 2f, 3f, 4f}, 0, arrays.get("out"), ValueLayout.JAVA_FLOAT, 0, 4);
            MemorySegment.copy(new int[] {7, -1}, 0, arrays.get("selection"), ValueLayout.JAVA_INT, 0, 2);
            output.commit();
        }
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLength % 8).isZero();
        assertThat(new String(bytes, 8, (int) headerLength)).startsWith("{\"__metadata__\":{\"top_k\":\"3\"},"
                + "\"out\":{\"dtype\":\"F32\",\"shape\":[2,1,2],\"data_offsets\":[0,16]}");
        assertThat(bytes).hasSize((int) (8 + headerLength + 16 + 8));
        try (Arena arena = Arena.ofConfined()) {
            Map<String, StoredArray> arrays = Safetensors.map(file, arena);
            assertThat(arrays.get("out").asTensor().toFloatArray()).containsExactly(1f, 2f, 3f, 4f);
            assertThat(arrays.get("selection").shape()).containsExactly(2, 1, 1);
            assertThat(arrays.get("selection").data().toArray(ValueLayout.JAVA_INT)).containsExactly(7, -1);
        }
        assertThat(dir).isDirectoryContaining("glob:**/out.safetensors");
        try (var files = Files.list(dir)) {
            assertThat(files).as("no temporary file left").hasSize(1);
        }
    }

    @Test
    void mapsAFileLargerThanTheHeapWithoutReadingIt() throws IOException {
        long filler = Math.max(2 * Runtime.getRuntime().maxMemory(), 16L << 30);
        byte[] small = SafetensorsFiles.withHeader("{\"q\":{\"dtype\":\"F32\",\"shape\":[1,1,2],\"data_offsets\":"
                + "[0,8]},\"filler\":{\"dtype\":\"U8\",\"shape\":[" + filler + "],\"data_offsets\":[8," + (8 + filler)
                + "]}}", floats(1f, 2f));
        Path file = SafetensorsFiles.write(dir.resolve("big.safetensors"), small);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(small.length + filler); // sparse: no disk blocks behind the filler
        }
        try (Arena arena = Arena.ofConfined()) {
            Map<String, StoredArray> arrays = Safetensors.map(file, arena);
            assertThat(arrays.get("filler").data().byteSize()).isGreaterThan(Runtime.getRuntime().maxMemory());
            assertThat(arrays.get("filler").data().isMapped()).isTrue();
            assertThat(arrays.get("q").asTensor().toFloatArray()).containsExactly(1f, 2f);
        }
    }

    @Test
    void refusesTruncatedFiles() {
        byte[] whole = SafetensorsFiles.of(List.of(f32("q", new long[] {1, 1, 2}, new float[] {1f, 2f})));
        assertRefused(new byte[5], "holds 5 bytes, too few for the 8-byte header length");
        assertRefused(Arrays.copyOf(whole, 20), "header length ");
        assertRefused(Arrays.copyOf(whole, 20), "does not fit the file of 20 bytes; the file is truncated");
        assertRefused(Arrays.copyOf(whole, whole.length - 1), "tensor 'q' ends at data byte 8 but the file holds only"
                + " 7 data bytes; the file is truncated: save it again with safetensors.torch.save_file");
    }

    @Test
    void refusesAHeaderLengthBeyondTheFileOrTheLimit() {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).putLong(0);
        assertRefused(b.array(), "header length 18446744073709551615 does not fit the file of 16 bytes (nor the 100"
                + " MiB limit)");
        ByteBuffer c = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(9).putLong(0);
        assertRefused(c.array(), "header length 9 does not fit the file of 16 bytes");
    }

    @Test
    void refusesMalformedHeaders() {
        assertRefused(SafetensorsFiles.withHeader("{\"q\": {\"dtype\": \"F32\",", new byte[0]),
                "malformed header (JSON: ");
        assertRefused(SafetensorsFiles.withHeader("[1, 2]", new byte[0]), "malformed header (not a JSON object)");
        assertRefused(SafetensorsFiles.withHeader("{\"q\": 3}", new byte[0]),
                "malformed header (tensor 'q' is not an object)");
        assertRefused(SafetensorsFiles.withHeader("{\"q\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]),
                "tensor 'q' has no dtype");
        assertRefused(SafetensorsFiles.withHeader("{\"q\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}",
                new byte[4]), "tensor 'q' shape holds 1.5, not a non-negative integer");
        assertRefused(SafetensorsFiles.withHeader("{\"q\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
                new byte[4]), "tensor 'q' data_offsets must be [begin, end]");
        assertRefused(SafetensorsFiles.of(List.of(zeros("q", "Q7", new long[] {1}, 4))), "tensor 'q' has unknown"
                + " dtype 'Q7': save it again with safetensors.torch.save_file");
        assertRefused(SafetensorsFiles.of(List.of(zeros("q", "F32", new long[] {2, 2}, 12))), "tensor 'q' (F32 [2, 2])"
                + " needs 16 bytes but its data_offsets [0, 12] hold 12");
        assertRefused(SafetensorsFiles.withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]),
                "tensors 'a' and 'b' overlap");
    }

    private void assertRefused(byte[] bytes, String message) {
        Path file = SafetensorsFiles.write(dir.resolve("bad.safetensors"), bytes);
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> Safetensors.map(file, arena)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(file + ": ").hasMessageContaining(message);
        }
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return b.array();
    }
}
