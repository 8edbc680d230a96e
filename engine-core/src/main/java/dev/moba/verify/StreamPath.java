package dev.moba.verify;

import dev.moba.engine.LayerChunk;
import dev.moba.engine.LayerOutput;
import dev.moba.engine.MobaEngine;
import dev.moba.engine.Session;
import dev.moba.engine.SessionSpec;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Runs a case through the streaming engine: each sequence of the case becomes a session of one layer, fed by a
 * stream of chunks of {@code chunk} tokens (the whole sequence when 0) through the session's flow, all sequences
 * at once.
 */
public final class StreamPath implements CasePath {

    private final MobaEngine engine;
    private final DType dtype;
    private final int chunk;

    /** @param chunk tokens per chunk, or 0 for one-shot */
    public StreamPath(MobaEngine engine, DType dtype, int chunk) {
        this.engine = engine;
        this.dtype = dtype;
        this.chunk = CaseChunks.requireChunk(chunk);
    }

    @Override
    public Tensor output(GoldenCase c, Arena arena) {
        Tensor out = Tensor.allocate(arena, DType.FP32, c.q().tokens(), c.layout().qHeads(), c.layout().headDim());
        SessionSpec spec = SessionSpec.of(1, c.layout(), c.config(dtype));
        List<Session> sessions = new ArrayList<>();
        try {
            List<CompletableFuture<List<LayerOutput>>> runs = new ArrayList<>();
            for (int s = 0; s < c.sequences(); s++) {
                Session session = engine.openSession(spec);
                sessions.add(session);
                runs.add(Source.from(chunks(c, s)).via(session.flow()).runWith(Sink.seq(), engine.system())
                        .toCompletableFuture());
            }
            for (int s = 0; s < c.sequences(); s++) {
                for (LayerOutput o : runs.get(s).join()) {
                    int from = c.cuSeqlens()[s] + o.position();
                    MemorySegment.copy(o.output().segment(), 0, out.slice(from, from + o.output().tokens())
                            .segment(), 0, o.output().segment().byteSize());
                }
            }
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        } finally {
            sessions.forEach(Session::close);
        }
        return out;
    }

    private List<LayerChunk> chunks(GoldenCase c, int sequence) {
        int start = c.cuSeqlens()[sequence];
        int length = c.cuSeqlens()[sequence + 1] - start;
        int step = chunk == 0 ? Math.max(1, length) : chunk;
        List<LayerChunk> chunks = new ArrayList<>();
        for (int p = 0; p < length; p += step) {
            int to = Math.min(length, p + step);
            chunks.add(new LayerChunk(0, p, c.q().slice(start + p, start + to), c.k().slice(start + p, start + to),
                    c.v().slice(start + p, start + to)));
        }
        return chunks;
    }

    @Override
    public String describe() {
        return "stream, " + CaseChunks.describe(chunk);
    }
}
