package dev.moba.stream;

import dev.moba.engine.LayerChunk;
import dev.moba.engine.LayerOutput;
import dev.moba.engine.Session;
import dev.moba.engine.Tokens;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * Pekko Streams views of a session. Each flow keeps exactly one chunk in flight: the session runs its chunks one
 * at a time anyway, and a single slot means a slow consumer stops the intake at once instead of letting outputs
 * pile up. Materialize a session's flow once at a time: two streams into one session would interleave positions.
 */
public final class SessionFlows {

    private SessionFlows() {}

    /** Chunks of any layers in, outputs out in the same order. */
    public static Flow<LayerChunk, LayerOutput, NotUsed> of(Session session) {
        return Flow.of(LayerChunk.class).mapAsync(1, session::forward);
    }

    /** Tokens of one layer in, that layer's outputs out in the same order. */
    public static Flow<Tokens, LayerOutput, NotUsed> ofLayer(Session session, int layer) {
        return Flow.of(Tokens.class).map(tokens -> tokens.forLayer(layer)).via(of(session));
    }
}
