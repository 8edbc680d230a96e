package dev.moba.actor;

import dev.moba.engine.BackendException;
import dev.moba.engine.InvalidChunkException;
import dev.moba.engine.LayerChunk;
import dev.moba.engine.LayerOutput;
import dev.moba.engine.MobaException;
import dev.moba.engine.SessionClosedException;
import dev.moba.engine.SessionInfo;
import dev.moba.memory.MemoryLedger;
import dev.moba.spi.Backend;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

/**
 * One document: the router of all its layers. It validates each chunk, gates and plans it, sends the work to the
 * layer's block shards (its children), merges their partials and answers, one chunk at a time in arrival order;
 * commands that arrive while a chunk is in flight wait in a bounded queue.
 *
 * <p>A chunk that is refused changes nothing; one that fails later (backend error, memory budget) is undone on
 * every shard before the error is answered, and the session goes on. Closing frees every byte at once; for a
 * while afterwards the closed session still answers, with {@link SessionClosedException}.
 */
public final class SessionActor extends AbstractBehavior<SessionActor.Command> {

    /** What a session is asked. */
    public sealed interface Command {}

    /** Runs the next chunk of one layer; answered with its output or the error. */
    public record Forward(LayerChunk chunk, ActorRef<StatusReply<LayerOutput>> replyTo) implements Command {}

    /** Answered between the steps of a chunk in flight, ahead of the queued commands. */
    public record GetInfo(ActorRef<SessionInfo> replyTo) implements Command {}

    /** Closes the session after the commands before it; answered once its memory is free. */
    public record Close(ActorRef<StatusReply<Done>> replyTo) implements Command {}

    private record ShardReply(BlockShard.Reply reply) implements Command {}

    private record ShardClosed(BlockShard.Closed closed) implements Command {}

    /** A shard stopped without being asked to: its KV is gone. */
    private record ShardStopped(int layer, int shard) implements Command {}

    private enum LingerOver implements Command { INSTANCE }

    private final SessionSettings settings;
    private final MemoryLedger ledger;
    private final List<LayerRouter> layers = new ArrayList<>();
    private final ActorRef<BlockShard.Reply> shardReplies;
    private final ArrayDeque<Command> queue = new ArrayDeque<>();
    private Forward current;
    /** Why the session can take no more chunks, once a shard has been lost; {@code null} while it can. */
    private String broken;
    private LayerRouter.Request request;
    private long requests;
    private int failures;
    private String lastFailure;

    private SessionActor(ActorContext<Command> context, SessionSettings settings, Backend backend,
                         MemoryLedger ledger) {
        super(context);
        this.settings = settings;
        this.ledger = ledger;
        this.shardReplies = context.messageAdapter(BlockShard.Reply.class, ShardReply::new);
        var spec = settings.spec();
        for (int l = 0; l < spec.layerCount(); l++) {
            layers.add(new LayerRouter(settings.id(), l, spec.layer(l), spec.layout(), backend, ledger,
                    settings.blocksPerShard(), shard -> spawnShard(shard, backend)));
        }
    }

    /** A block shard as a watched child: one that stops unasked is noticed, not waited for. */
    private ActorRef<BlockShard.Command> spawnShard(ShardSpec shard, Backend backend) {
        ActorRef<BlockShard.Command> ref = getContext().spawn(BlockShard.create(shard, backend, ledger),
                "layer-" + shard.layer() + "-shard-" + shard.shard(),
                DispatcherSelector.fromConfig(settings.dispatcher()));
        getContext().watchWith(ref, new ShardStopped(shard.layer(), shard.shard()));
        return ref;
    }

    /** A session with empty layers, storing its KV on {@code backend} and charging {@code ledger}. */
    public static Behavior<Command> create(SessionSettings settings, Backend backend, MemoryLedger ledger) {
        return Behaviors.setup(context -> new SessionActor(context, settings, backend, ledger));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Forward.class, this::enqueue)
                .onMessage(Close.class, this::enqueue)
                .onMessage(GetInfo.class, this::onInfo)
                .onMessage(ShardReply.class, this::onShardReply)
                .onMessage(ShardStopped.class, this::onShardStopped)
                .onSignal(PostStop.class, signal -> freeRouters())
                .build();
    }

    private Behavior<Command> enqueue(Command command) {
        if (current != null || !queue.isEmpty()) {
            if (queue.size() >= settings.queueCapacity()) {
                refuse(command, new MobaException("session " + settings.id() + " has " + queue.size()
                        + " commands waiting (moba.session.queue-capacity): send the next chunk after an answer"));
                return this;
            }
            queue.add(command);
            return this;
        }
        return run(command);
    }

    private Behavior<Command> run(Command command) {
        return switch (command) {
            case Forward forward -> {
                start(forward);
                yield this;
            }
            case Close close -> closing(close);
            default -> throw new IllegalStateException("not a queued command: " + command);
        };
    }

    private void start(Forward forward) {
        LayerChunk chunk = forward.chunk();
        try {
            if (broken != null) {
                answer(forward, StatusReply.error(new MobaException(broken)));
                return;
            }
            if (chunk == null) {
                throw new InvalidChunkException("the chunk is missing");
            }
            if (chunk.layer() < 0 || chunk.layer() >= layers.size()) {
                throw new InvalidChunkException("layer " + chunk.layer() + " does not exist: session "
                        + settings.id() + " has layers 0.." + (layers.size() - 1));
            }
            LayerRouter layer = layers.get(chunk.layer());
            layer.validate(chunk);
            current = forward;
            request = layer.begin(++requests, chunk, shardReplies);
        } catch (InvalidChunkException e) {
            answer(forward, StatusReply.error(e));
            return;
        }
        if (request.complete()) {
            finish();
        }
    }

    private Behavior<Command> onShardReply(ShardReply reply) {
        if (request == null || !request.accept(reply.reply())) {
            return this;
        }
        finish();
        return drainQueue();
    }

    /** Runs queued commands until one is in flight or the queue is empty; a close may change the behavior. */
    private Behavior<Command> drainQueue() {
        while (current == null && !queue.isEmpty()) {
            Behavior<Command> next = run(queue.poll());
            if (next != this) {
                return next;
            }
        }
        return this;
    }

    /**
     * A shard stopped unasked (an error the backend could not contain): its blocks are gone, so the session can
     * no longer answer exactly. The chunk in flight fails, later ones are refused; closing still frees the rest.
     */
    private Behavior<Command> onShardStopped(ShardStopped stopped) {
        layers.get(stopped.layer()).lost(stopped.shard());
        broken = "session " + settings.id() + " lost shard " + stopped.shard() + " of layer " + stopped.layer()
                + " and the KV it held: close the session and start it again";
        getContext().getLog().error(broken);
        if (current != null) {
            failures++;
            lastFailure = broken;
            answer(current, StatusReply.error(new BackendException(broken, null)));
            current = null;
            request = null;
        }
        return drainQueue();
    }

    private void finish() {
        Forward forward = current;
        LayerRouter.Request done = request;
        current = null;
        request = null;
        try {
            answer(forward, StatusReply.success(done.finish()));
        } catch (MobaException e) {
            failures++;
            lastFailure = e.getMessage();
            getContext().getLog().warn("session {}: chunk undone: {}", settings.id(), e.getMessage());
            answer(forward, StatusReply.error(e));
        }
    }

    private Behavior<Command> onInfo(GetInfo get) {
        get.replyTo().tell(info());
        return this;
    }

    private SessionInfo info() {
        List<Integer> lengths = layers.stream().map(LayerRouter::length).toList();
        return new SessionInfo(settings.id(), lengths, ledger.used(settings.id()), failures,
                Optional.ofNullable(lastFailure));
    }

    /** Closes every shard, then frees the summaries and answers. */
    private Behavior<Command> closing(Close close) {
        ActorRef<BlockShard.Closed> closedReplies = getContext().messageAdapter(BlockShard.Closed.class,
                ShardClosed::new);
        int open = 0;
        for (LayerRouter layer : layers) {
            for (ActorRef<BlockShard.Command> shard : layer.shards()) {
                shard.tell(new BlockShard.Close(closedReplies));
                open++;
            }
        }
        if (open == 0) {
            return closed(close);
        }
        int[] left = {open};
        return Behaviors.receive(Command.class)
                .onMessage(ShardClosed.class, m -> --left[0] == 0 ? closed(close) : Behaviors.same())
                .onMessage(GetInfo.class, this::onInfo)
                .onMessage(Forward.class, f -> refuse(f, closedError()))
                .onMessage(Close.class, c -> refuse(c, closedError()))
                .onMessage(ShardStopped.class, stopped -> Behaviors.same())
                .onSignal(PostStop.class, signal -> freeRouters())
                .build();
    }

    private Behavior<Command> closed(Close close) {
        freeRouters();
        ledger.forget(settings.id());
        close.replyTo().tell(StatusReply.ack());
        for (Command waiting : queue) {
            refuse(waiting, closedError());
        }
        queue.clear();
        return Behaviors.withTimers(timers -> {
            timers.startSingleTimer(LingerOver.INSTANCE, settings.linger());
            return Behaviors.receive(Command.class)
                    .onMessage(Forward.class, f -> refuse(f, closedError()))
                    .onMessage(Close.class, c -> {
                        c.replyTo().tell(StatusReply.ack());
                        return Behaviors.same();
                    })
                    .onMessage(GetInfo.class, g -> {
                        g.replyTo().tell(new SessionInfo(settings.id(), List.of(), 0, failures,
                                Optional.ofNullable(lastFailure)));
                        return Behaviors.same();
                    })
                    .onMessage(ShardStopped.class, stopped -> Behaviors.same())
                    .onMessageEquals(LingerOver.INSTANCE, Behaviors::stopped)
                    .build();
        });
    }

    private SessionClosedException closedError() {
        return new SessionClosedException("session " + settings.id() + " is closed");
    }

    /**
     * Answers a chunk from a task queued behind the message being handled, so the session's mailbox is released
     * before the caller hears the answer: a caller that then sends its next chunk and runs it on its own thread
     * ({@code Session.call}) finds the session idle, instead of finding it still busy on the event loop and
     * waiting for the loop to run that chunk too.
     */
    private void answer(Forward forward, StatusReply<LayerOutput> reply) {
        getContext().getExecutionContext().execute(() -> forward.replyTo().tell(reply));
    }

    private Behavior<Command> refuse(Command command, MobaException error) {
        switch (command) {
            case Forward f -> answer(f, StatusReply.error(error));
            case Close c -> c.replyTo().tell(StatusReply.error(error));
            default -> { }
        }
        return Behaviors.same();
    }

    private Behavior<Command> freeRouters() {
        for (LayerRouter layer : layers) {
            layer.close();
        }
        layers.clear();
        return this;
    }
}
