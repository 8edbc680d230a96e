package dev.moba.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A view of a {@code [tokens][heads][dim]} tensor, row-major, over a {@link MemorySegment}. The view does not own
 * its memory: whoever allocated the segment frees it (usually by closing an {@link Arena}).
 *
 * <p>Element access decodes to fp32 on every call; kernels read the segment directly instead.
 */
public final class Tensor {

    private static final VectorSpecies<Float> FINITE_SPECIES = FloatVector.SPECIES_PREFERRED;

    /** A thread that owns no memory: only memory every thread may read is accessible by it. */
    private static final Thread NOT_AN_OWNER = Thread.ofVirtual().unstarted(() -> {});

    private final MemorySegment segment;
    private final DType dtype;
    private final int tokens;
    private final int heads;
    private final int dim;

    private Tensor(MemorySegment segment, DType dtype, int tokens, int heads, int dim) {
        this.segment = segment;
        this.dtype = dtype;
        this.tokens = tokens;
        this.heads = heads;
        this.dim = dim;
    }

    /**
     * Wraps {@code segment}, which must hold exactly {@code tokens * heads * dim} elements of {@code dtype}.
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, int tokens, int heads, int dim) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(dtype, "dtype");
        if (tokens < 0 || heads < 1 || dim < 1) {
            throw new IllegalArgumentException(
                    "tensor shape must be [tokens >= 0, heads >= 1, dim >= 1], got " + shapeText(tokens, heads, dim));
        }
        long expected = (long) tokens * heads * dim * dtype.bytes();
        if (segment.byteSize() != expected) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes does not hold a " + dtype
                    + " tensor " + shapeText(tokens, heads, dim) + " (" + expected + " bytes)");
        }
        return new Tensor(segment, dtype, tokens, heads, dim);
    }

    /** Allocates a zeroed tensor in {@code arena}. */
    public static Tensor allocate(Arena arena, DType dtype, int tokens, int heads, int dim) {
        long bytes = Math.max(0, (long) tokens * heads * dim * dtype.bytes());
        return wrap(arena.allocate(bytes, 64), dtype, tokens, heads, dim);
    }

    /** Allocates a tensor in {@code arena} holding {@code values} ({@code [tokens][heads][dim]}, row-major). */
    public static Tensor of(Arena arena, DType dtype, int tokens, int heads, int dim, float[] values) {
        if (values.length != (long) tokens * heads * dim) {
            throw new IllegalArgumentException(values.length + " values do not fill a tensor "
                    + shapeText(tokens, heads, dim));
        }
        Tensor t = allocate(arena, dtype, tokens, heads, dim);
        for (int i = 0; i < values.length; i++) {
            dtype.set(t.segment, i, values[i]);
        }
        return t;
    }

    public MemorySegment segment() {
        return segment;
    }

    public DType dtype() {
        return dtype;
    }

    public int tokens() {
        return tokens;
    }

    public int heads() {
        return heads;
    }

    public int dim() {
        return dim;
    }

    /** Number of elements. */
    public long size() {
        return (long) tokens * heads * dim;
    }

    public float get(int token, int head, int d) {
        return dtype.get(segment, index(token, head, d));
    }

    public void set(int token, int head, int d, float value) {
        dtype.set(segment, index(token, head, d), value);
    }

    /** The view of tokens {@code [from, to)}; shares memory with this tensor. */
    public Tensor slice(int from, int to) {
        Objects.checkFromToIndex(from, to, tokens);
        long rowBytes = (long) heads * dim * dtype.bytes();
        return new Tensor(segment.asSlice(from * rowBytes, (to - from) * rowBytes), dtype, to - from, heads, dim);
    }

    /** A copy of this tensor, same dtype and shape, in {@code arena}. */
    public Tensor copy(Arena arena) {
        Tensor copy = allocate(arena, dtype, tokens, heads, dim);
        MemorySegment.copy(segment, 0, copy.segment, 0, segment.byteSize());
        return copy;
    }

    /**
     * Whether threads other than the caller may read this tensor (its memory is global, automatic or shared),
     * as work handed to other threads needs.
     */
    public boolean isShared() {
        return segment.isAccessibleBy(NOT_AN_OWNER);
    }

    /**
     * This tensor as kernels storing in {@code storage} read it, from any thread: itself when it already is fp32
     * stored as fp32, 4-byte aligned, in memory every thread may read (no pass at all), otherwise
     * {@link #roundedCopy}.
     */
    public Tensor asStored(DType storage, Arena arena) {
        // Kernels read floats with aligned accesses; a view into a file (a mapped tensor) may sit at any offset.
        boolean aligned = segment.address() % Float.BYTES == 0;
        return dtype == DType.FP32 && storage == DType.FP32 && aligned && isShared()
                ? this : roundedCopy(storage, arena);
    }

    /**
     * An fp32 copy in {@code arena} holding the values {@code storage} can represent (round to nearest even), as
     * kernels that store in {@code storage} see them. Costs one pass over the tensor.
     */
    public Tensor roundedCopy(DType storage, Arena arena) {
        Tensor copy = allocate(arena, DType.FP32, tokens, heads, dim);
        int rowLength = heads * dim;
        float[] row = new float[rowLength];
        for (int t = 0; t < tokens; t++) {
            read((long) t * rowLength, row, 0, rowLength);
            storage.roundInPlace(row);
            MemorySegment.copy(row, 0, copy.segment, ValueLayout.JAVA_FLOAT, (long) t * rowLength * Float.BYTES,
                    rowLength);
        }
        return copy;
    }

    /** All elements decoded to fp32, row-major. */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(size())];
        read(0, out, 0, out.length);
        return out;
    }

    /**
     * Decodes {@code count} elements starting at flat element index {@code from} into {@code dst[offset..]}. A bulk
     * copy for fp32.
     */
    public void read(long from, float[] dst, int offset, int count) {
        Objects.checkFromIndexSize(from, count, size());
        if (dtype == DType.FP32) {
            MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT_UNALIGNED, from * Float.BYTES, dst, offset, count);
            return;
        }
        for (int i = 0; i < count; i++) {
            dst[offset + i] = dtype.get(segment, from + i);
        }
    }

    /**
     * Throws {@link IllegalArgumentException} naming {@code name} and the first element that is NaN or infinite.
     * Costs one pass over the tensor.
     */
    public void requireFinite(String name) {
        long at = firstNonFinite();
        if (at >= 0) {
            throw new IllegalArgumentException(name + " holds " + dtype.get(segment, at) + " at [token "
                    + at / ((long) heads * dim) + ", head " + (at / dim) % heads + ", dim " + at % dim
                    + "]: q, k and v must be finite");
        }
    }

    /**
     * The flat index of the first element that is NaN or infinite, or -1 when every one is finite. One pass, a
     * vector at a time for fp32; allocates nothing.
     */
    public long firstNonFinite() {
        long n = size();
        long i = 0;
        if (dtype == DType.FP32) {
            for (long bound = n - n % FINITE_SPECIES.length(); i < bound; i += FINITE_SPECIES.length()) {
                if (FloatVector.fromMemorySegment(FINITE_SPECIES, segment, i * Float.BYTES, ByteOrder.nativeOrder())
                        .test(VectorOperators.IS_FINITE).not().anyTrue()) {
                    break;
                }
            }
        }
        for (; i < n; i++) {
            if (!Float.isFinite(dtype.get(segment, i))) {
                return i;
            }
        }
        return -1;
    }

    /** {@code [tokens, heads, dim]}. */
    public String shapeText() {
        return shapeText(tokens, heads, dim);
    }

    private static String shapeText(int tokens, int heads, int dim) {
        return "[" + tokens + ", " + heads + ", " + dim + "]";
    }

    private long index(int token, int head, int d) {
        Objects.checkIndex(token, tokens);
        Objects.checkIndex(head, heads);
        Objects.checkIndex(d, dim);
        return ((long) token * heads + head) * dim + d;
    }

    @Override
    public String toString() {
        return "Tensor" + shapeText() + " " + dtype;
    }
}
