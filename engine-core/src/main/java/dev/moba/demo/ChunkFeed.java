package dev.moba.demo;

import dev.moba.engine.LayerChunk;
import dev.moba.tensor.DType;
import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Queue;

/**
 * The chunks of positions {@code [from, to)} in the order a model produces them: for each run of {@code step}
 * tokens, every layer in turn. Each chunk lives in an arena of its own that {@link #release()} frees once its
 * output has arrived (outputs come in input order), so memory stays at the few chunks in flight instead of waiting
 * for the garbage collector. Not thread-safe: the stream that pulls it and the sink that releases it run on one
 * stream stage at a time.
 */
final class ChunkFeed implements Iterator<LayerChunk>, AutoCloseable {

    private final SyntheticDocument document;
    private final int to;
    private final int step;
    private final Queue<Arena> inFlight = new ArrayDeque<>();
    private int position;
    private int layer;

    ChunkFeed(SyntheticDocument document, int from, int to, int step) {
        this.document = document;
        this.position = from;
        this.to = to;
        this.step = step;
    }

    @Override
    public synchronized boolean hasNext() {
        return position < to;
    }

    @Override
    public synchronized LayerChunk next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        int count = Math.min(step, to - position);
        Arena arena = Arena.ofShared();
        inFlight.add(arena);
        // The engine rounds to the storage type itself: it is fed fp32 as a model would feed it.
        var chunk = new LayerChunk(layer, position,
                document.tensor(SyntheticDocument.Part.QUERY, layer, position, count, DType.FP32, arena),
                document.tensor(SyntheticDocument.Part.KEY, layer, position, count, DType.FP32, arena),
                document.tensor(SyntheticDocument.Part.VALUE, layer, position, count, DType.FP32, arena));
        if (++layer == document.spec().layers()) {
            layer = 0;
            position += count;
        }
        return chunk;
    }

    /** Frees the oldest chunk still held: call once per output received. */
    synchronized void release() {
        Arena oldest = inFlight.poll();
        if (oldest != null) {
            oldest.close();
        }
    }

    /** Frees every chunk still held; the stream must be over. */
    @Override
    public synchronized void close() {
        while (!inFlight.isEmpty()) {
            release();
        }
    }
}
