package dev.moba.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_default_flags;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_destroy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_stream;

/**
 * What one unit of work needs at a time: a oneDNN stream, tile buffers per {@link AttentionShape} and the
 * primitives bound to them, each with its own scratchpad. Used by one thread at a time; the backend pools them.
 */
final class Worker implements AutoCloseable {

    /** Tile buffers of one shape. {@code probabilities} is {@code scores} itself when the compute type is fp32. */
    record Buffers(MemorySegment queries, MemorySegment scores, MemorySegment probabilities, MemorySegment outputs,
                   MemorySegment widened) {}

    private final dnnl_engine engine;
    private final Primitives primitives;
    private final dnnl_stream stream = new dnnl_stream();
    private final Arena arena = Arena.ofShared();
    private final Map<AttentionShape, Buffers> buffers = new HashMap<>();
    private final Map<Primitives.Key, BoundMatMul> bound = new HashMap<>();
    // The last shape's buffers and the last primitive bound of each kind: consecutive tiles almost always ask for
    // them again, and a map lookup hashes a whole shape record per tile (3% of a prefill's Java time, profiled).
    // Shapes compare by value: each unit of work builds its own.
    private AttentionShape lastShape;
    private Buffers lastBuffers;
    private final Primitives.Key[] lastKeys = new Primitives.Key[Primitives.Kind.values().length];
    private final BoundMatMul[] lastBound = new BoundMatMul[Primitives.Kind.values().length];

    Worker(dnnl_engine engine, Primitives primitives) {
        this.engine = engine;
        this.primitives = primitives;
        Dnnl.check(dnnl_stream_create(stream, engine, dnnl_stream_default_flags), "stream creation");
    }

    Buffers buffers(AttentionShape shape) {
        if (!shape.equals(lastShape)) {
            lastBuffers = allocatedBuffers(shape);
            lastShape = shape;
        }
        return lastBuffers;
    }

    private Buffers allocatedBuffers(AttentionShape shape) {
        return buffers.computeIfAbsent(shape, s -> {
            int rows = AttentionShape.MAX_ROWS;
            MemorySegment scores = arena.allocate((long) rows * s.paddedBlock() * Float.BYTES, 64);
            MemorySegment probabilities = s.computeBytes() == Float.BYTES
                    ? scores
                    : arena.allocate((long) rows * s.paddedBlock() * s.computeBytes(), 64);
            MemorySegment widened = s.widens()
                    ? arena.allocate(((long) s.dim() + s.paddedDim()) * s.paddedBlock() * Float.BYTES, 64)
                    : MemorySegment.NULL;
            return new Buffers(arena.allocate((long) rows * s.dim() * s.computeBytes(), 64), scores, probabilities,
                    arena.allocate((long) rows * s.dim() * Float.BYTES, 64), widened);
        });
    }

    /** Scores of the tile's queries against the transposed keys at {@code keysAddress}, into the score buffer. */
    void scores(AttentionShape shape, int rows, int keys, long keysAddress) {
        Buffers b = buffers(shape);
        bind(shape, Primitives.Kind.SCORES, rows, keys, b.queries(), b.scores()).run(stream, keysAddress);
    }

    /** The tile's probabilities times the values at {@code valuesAddress}, into the output buffer. */
    void outputs(AttentionShape shape, int rows, int keys, long valuesAddress) {
        Buffers b = buffers(shape);
        bind(shape, Primitives.Kind.OUTPUTS, rows, keys, b.probabilities(), b.outputs()).run(stream, valuesAddress);
    }

    private BoundMatMul bind(AttentionShape shape, Primitives.Kind kind, int rows, int keys, MemorySegment src,
                             MemorySegment dst) {
        int at = kind.ordinal();
        Primitives.Key last = lastKeys[at];
        if (last == null || !last.shape().equals(shape) || last.rows() != rows || last.keys() != keys) {
            Primitives.Key key = new Primitives.Key(shape, kind, rows, keys);
            lastBound[at] = bind(key, src, dst);
            lastKeys[at] = key;
        }
        return lastBound[at];
    }

    private BoundMatMul bind(Primitives.Key key, MemorySegment src, MemorySegment dst) {
        return bound.computeIfAbsent(key, k -> {
            MatMulPrimitive matmul = primitives.get(k);
            MemorySegment scratchpad = arena.allocate(Math.max(64, matmul.scratchpadBytes), 64);
            return new BoundMatMul(matmul, engine, src.address(), dst.address(), scratchpad.address());
        });
    }

    @Override
    public void close() {
        bound.values().forEach(BoundMatMul::close);
        bound.clear();
        buffers.clear();
        dnnl_stream_destroy(stream);
        arena.close();
    }
}
