package dev.moba.actor;

import dev.moba.engine.MemoryBudgetException;
import dev.moba.memory.MemoryLedger;
import dev.moba.memory.SlabArena;
import dev.moba.merge.Partials;
import dev.moba.plan.AttendPlan;
import dev.moba.plan.BlockTask;
import dev.moba.spi.Backend;
import dev.moba.spi.KvCache;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Owns a contiguous range of KV blocks of one (session, layer) and runs its share of each chunk on the backend:
 * appends the keys and values that fall in its range (checking the memory budget first) and attends the query rows
 * the router planned onto its blocks, answering with {@code (o, lse)} partials.
 *
 * <p>Block numbers and positions in its messages are relative to its first block. Commands carry tensors and
 * plans, never KV: the blocks stay here. Backend calls block the actor's thread, so shards run on the engine's
 * dispatcher ({@code moba.dispatcher}).
 */
public final class BlockShard extends AbstractBehavior<BlockShard.Command> {

    /** What a block shard is asked to do. */
    public sealed interface Command {}

    /**
     * Appends, then attends; either part may be {@code null}. Answered with {@link Done} or {@link Failed}; a
     * failed append leaves the shard as it was, a failed attend after an append leaves the append in place for the
     * router to undo with {@link Truncate}.
     */
    public record Run(long request, Append append, Attend attend, ActorRef<Reply> replyTo) implements Command {}

    /** Keys and values of the next positions of the shard, {@code [n, kvHeads, headDim]}. */
    public record Append(Tensor k, Tensor v) {}

    /**
     * Attention of the rounded queries of a chunk over the shard's blocks.
     *
     * @param firstPosition the first query's position relative to the shard's first token (negative when the chunk
     *                      began before the shard's range)
     */
    public record Attend(Tensor queries, int firstPosition, float scale, List<List<BlockTask>> tasksByKvHead) {}

    /**
     * Forgets every position at or after {@code length} (relative to the shard), freeing the blocks past it: the
     * router undoing a chunk. Answered with an empty {@link Done}.
     */
    public record Truncate(long request, int length, ActorRef<Reply> replyTo) implements Command {}

    /** Frees the shard's blocks and stops it. */
    public record Close(ActorRef<Closed> replyTo) implements Command {}

    /** The shard has freed its memory and stopped. */
    public record Closed(int shard) {}

    /** Answers to {@link Run}. */
    public sealed interface Reply {
        long request();

        int shard();
    }

    /**
     * @param sealed blocks the append completed, numbered within the sequence
     * @param result partials of the attend part, or {@code null} when there was none; they live in the shard's
     *               scratch memory and stay valid until the shard's next {@link Run}
     */
    public record Done(long request, int shard, List<SealedBlock> sealed, Partials result) implements Reply {}

    /** @param appended whether the append part took effect before the failure */
    public record Failed(long request, int shard, RuntimeException cause, boolean appended) implements Reply {}

    private final ShardSpec spec;
    private final Backend backend;
    private final MemoryLedger ledger;
    private final KvCache cache;
    private final SlabArena results = new SlabArena(1 << 16);
    private long charged;
    private boolean closed;

    private BlockShard(ActorContext<Command> context, ShardSpec spec, Backend backend, MemoryLedger ledger) {
        super(context);
        this.spec = spec;
        this.backend = backend;
        this.ledger = ledger;
        this.cache = backend.openCache(spec.kv());
        charge();
    }

    /** A shard with empty storage opened on {@code backend}, charging its memory to {@code ledger}. */
    public static Behavior<Command> create(ShardSpec spec, Backend backend, MemoryLedger ledger) {
        return Behaviors.setup(context -> new BlockShard(context, spec, backend, ledger));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Run.class, this::onRun)
                .onMessage(Truncate.class, this::onTruncate)
                .onMessage(Close.class, this::onClose)
                .onSignal(PostStop.class, signal -> free())
                .build();
    }

    private Behavior<Command> onRun(Run run) {
        boolean appended = false;
        try {
            List<SealedBlock> sealed = List.of();
            if (run.append() != null) {
                sealed = append(run.append());
                appended = true;
            }
            Partials result = run.attend() == null ? null : attend(run.attend());
            run.replyTo().tell(new Done(run.request(), spec.shard(), sealed, result));
        } catch (RuntimeException e) {
            run.replyTo().tell(new Failed(run.request(), spec.shard(), e, appended));
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Error e) {
            // A backend's assertion or linkage error fails the chunk, not the shard: its KV is still consistent.
            run.replyTo().tell(new Failed(run.request(), spec.shard(), new IllegalStateException(e.toString(), e),
                    appended));
        }
        return this;
    }

    private List<SealedBlock> append(Append append) {
        int tokens = append.k().tokens();
        long needed = cache.bytesToAppend(tokens);
        if (!ledger.tryReserve(spec.session(), needed)) {
            throw new MemoryBudgetException(String.format(Locale.ROOT,
                    "appending %d tokens to layer %d of session %s needs %d more bytes, but the engine holds %d of"
                            + " its %d-byte budget (moba.memory.budget)",
                    tokens, spec.layer(), spec.session(), needed, ledger.used(), ledger.budget()));
        }
        charged += needed;
        List<SealedBlock> sealed;
        try {
            sealed = cache.append(append.k(), append.v());
        } finally {
            charge();
        }
        List<SealedBlock> numbered = new ArrayList<>(sealed.size());
        for (SealedBlock block : sealed) {
            numbered.add(new SealedBlock(spec.firstBlock() + block.index(), block.mean()));
        }
        return numbered;
    }

    private Partials attend(Attend attend) {
        var plan = new AttendPlan(cache, attend.queries(), attend.firstPosition(), attend.scale(), spec.layout(),
                attend.tasksByKvHead());
        // The router reads these partials before it sends this shard its next run: the slab can be reused then.
        results.reset();
        return backend.attend(List.of(plan), results).getFirst();
    }

    private Behavior<Command> onTruncate(Truncate truncate) {
        try {
            cache.truncate(truncate.length());
        } finally {
            charge();
        }
        truncate.replyTo().tell(new Done(truncate.request(), spec.shard(), List.of(), null));
        return this;
    }

    private Behavior<Command> onClose(Close close) {
        free();
        close.replyTo().tell(new Closed(spec.shard()));
        return Behaviors.stopped();
    }

    /** Brings the ledger to what the cache really holds. */
    private void charge() {
        long held = cache.bytesReserved();
        ledger.charge(spec.session(), held - charged);
        charged = held;
    }

    private Behavior<Command> free() {
        if (!closed) {
            closed = true;
            cache.close();
            results.close();
            ledger.charge(spec.session(), -charged);
            charged = 0;
        }
        return this;
    }
}
