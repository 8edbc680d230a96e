package dev.moba.engine;

import dev.moba.actor.SessionActor;
import dev.moba.stream.SessionFlows;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * A handle on one open document of an engine: send it chunks layer by layer (as futures or as a stream), ask how
 * it stands, close it. Chunks of one session are run one at a time in the order they are sent; sessions run side
 * by side. Thread-safe.
 *
 * <pre>{@code
 * try (Session doc = engine.openSession(SessionSpec.of(32, new HeadLayout(32, 8, 128), MobaConfig.of(512, 3)))) {
 *     LayerOutput out = doc.call(LayerChunk.next(0, q, k, v));
 * }
 * }</pre>
 */
public final class Session implements AutoCloseable {

    private final String id;
    private final SessionSpec spec;
    private final ActorRef<SessionActor.Command> actor;
    private final Scheduler scheduler;
    private final Duration replyTimeout;
    private final MobaEngine engine;
    private volatile boolean closed;

    Session(String id, SessionSpec spec, ActorRef<SessionActor.Command> actor, Scheduler scheduler,
            Duration replyTimeout, MobaEngine engine) {
        this.id = id;
        this.spec = spec;
        this.actor = actor;
        this.scheduler = scheduler;
        this.replyTimeout = replyTimeout;
        this.engine = engine;
    }

    public String id() {
        return id;
    }

    public SessionSpec spec() {
        return spec;
    }

    /**
     * Appends the chunk to its layer and completes with the attention output of its queries. Fails with
     * {@link InvalidChunkException} (nothing changed), {@link MemoryBudgetException} or {@link BackendException}
     * (the chunk was undone), or {@link SessionClosedException}.
     */
    public CompletionStage<LayerOutput> forward(LayerChunk chunk) {
        if (closed) {
            return CompletableFuture.failedFuture(new SessionClosedException("session " + id + " is closed"));
        }
        LayerChunk readable = readableByEngine(chunk);
        return AskPattern.askWithStatus(actor, replyTo -> new SessionActor.Forward(readable, replyTo), replyTimeout,
                scheduler);
    }

    /**
     * {@link #forward(LayerChunk)}, blocking until the output is in: meanwhile the calling thread runs the session's
     * steps itself, so a step needs no hand-off to the engine's threads and back, which is most of what the engine
     * adds to a decode step. When the session is still busy with earlier chunks, the call waits for them as
     * {@code forward} would. Errors are thrown, not wrapped. Made from an actor or a stream stage it blocks a
     * thread the engine may need: those use {@code forward}.
     *
     * @throws InvalidChunkException  the chunk was refused; nothing changed
     * @throws MemoryBudgetException  the chunk was undone
     * @throws BackendException       the chunk was undone
     * @throws SessionClosedException the session is closed
     */
    public LayerOutput call(LayerChunk chunk) {
        try {
            return CallerRuns.drive(() -> forward(chunk).toCompletableFuture());
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        }
    }

    /** The chunk, with tensors in thread-confined memory copied out: the engine reads them on its own threads. */
    private static LayerChunk readableByEngine(LayerChunk chunk) {
        if (chunk == null || chunk.q() == null || chunk.k() == null || chunk.v() == null
                || chunk.q().isShared() && chunk.k().isShared() && chunk.v().isShared()) {
            return chunk;
        }
        Arena arena = Arena.ofAuto();
        return new LayerChunk(chunk.layer(), chunk.position(), sharedCopy(chunk.q(), arena),
                sharedCopy(chunk.k(), arena), sharedCopy(chunk.v(), arena), chunk.output());
    }

    private static Tensor sharedCopy(Tensor t, Arena arena) {
        return t.isShared() ? t : t.copy(arena);
    }

    /** {@link #forward(LayerChunk)} for the next tokens of {@code layer}. */
    public CompletionStage<LayerOutput> forward(int layer, Tensor q, Tensor k, Tensor v) {
        return forward(LayerChunk.next(layer, q, k, v));
    }

    /**
     * A stream of chunks of any layers in, their outputs out, in order. One chunk is in flight at a time, so a
     * slow consumer stops the intake; the stream fails with the first chunk's error.
     */
    public Flow<LayerChunk, LayerOutput, NotUsed> flow() {
        return SessionFlows.of(this);
    }

    /** {@link #flow()} for one layer: tokens in, that layer's outputs out. */
    public Flow<Tokens, LayerOutput, NotUsed> flow(int layer) {
        return SessionFlows.ofLayer(this, layer);
    }

    /** How the session stands: tokens per layer, memory, failures. */
    public CompletionStage<SessionInfo> info() {
        return AskPattern.ask(actor, SessionActor.GetInfo::new, replyTimeout, scheduler);
    }

    /** Off-heap bytes the session holds now, from the engine's accounting (no round trip). */
    public long bytesReserved() {
        return engine.memoryLedger().used(id);
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Closes the session after the chunks already sent and waits until its memory is free. Later chunks fail with
     * {@link SessionClosedException}. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            AskPattern.askWithStatus(actor, SessionActor.Close::new, replyTimeout, scheduler)
                    .toCompletableFuture().join();
        } catch (CompletionException e) {
            if (!(e.getCause() instanceof SessionClosedException)) {
                throw e;
            }
        } finally {
            engine.forget(this);
        }
    }
}
