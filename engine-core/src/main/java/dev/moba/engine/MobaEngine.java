package dev.moba.engine;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.moba.actor.SessionActor;
import dev.moba.actor.SessionSettings;
import dev.moba.backend.Backends;
import dev.moba.memory.MemoryLedger;
import dev.moba.memory.MemoryUsage;
import dev.moba.spi.Backend;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded streaming engine: sessions (documents) of many layers on Pekko actors, one backend shared by all,
 * and the accounting of their off-heap memory against a budget.
 *
 * <p>Create one per process (or per model) and share it; open a {@link Session} per document. The engine runs on
 * its own actor system unless it is given one to join; {@link #close()} closes every session, frees every
 * off-heap byte, and stops what it started.
 *
 * <pre>{@code
 * try (MobaEngine engine = MobaEngine.create();                       // reference.conf + application.conf
 *      Session doc = engine.openSession(SessionSpec.of(layers, new HeadLayout(32, 8, 128), MobaConfig.of(512, 3)))) {
 *     Source.from(chunks).via(doc.flow()).runWith(Sink.foreach(out -> ...), engine.system());
 * }
 * }</pre>
 */
public final class MobaEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MobaEngine.class);

    private final EngineSettings settings;
    private final ActorSystem<?> system;
    private final boolean ownsSystem;
    private final Backend backend;
    private final boolean ownsBackend;
    private final MemoryLedger ledger;
    private final EventLoops loops;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicLong sessionNumbers = new AtomicLong();
    private volatile boolean closed;

    private MobaEngine(EngineSettings settings, ActorSystem<?> system, boolean ownsSystem, Backend backend,
                       boolean ownsBackend) {
        this.settings = settings;
        this.system = system;
        this.ownsSystem = ownsSystem;
        this.backend = backend;
        this.ownsBackend = ownsBackend;
        this.ledger = new MemoryLedger(settings.memoryBudget());
        this.loops = EventLoops.of(system, EventLoops.count(settings.eventLoops()));
        LOG.info("MoBA engine on backend {}, memory budget {} bytes, {} blocks per shard, {} event loop(s)",
                backend.id(), settings.memoryBudget(), settings.blocksPerShard(), loops.size());
    }

    /** An engine configured by {@code reference.conf} and the application's {@code application.conf}. */
    public static MobaEngine create() {
        return create(ConfigFactory.load());
    }

    /**
     * An engine on its own actor system, with the backend {@code moba.backend} names (looked for on the class path
     * and in the plugin folder {@code moba.plugins.path}).
     */
    public static MobaEngine create(Config config) {
        EngineSettings settings = EngineSettings.from(config);
        Backend backend = Backends.open(config);
        try {
            return new MobaEngine(settings, ownSystem(config, settings), true, backend, true);
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
    }

    /** An engine that joins {@code system} (which the caller keeps and terminates), with its configured backend. */
    public static MobaEngine create(Config config, ActorSystem<?> system) {
        EngineSettings settings = EngineSettings.from(config);
        Backend backend = Backends.open(config);
        return new MobaEngine(settings, Objects.requireNonNull(system, "system"), false, backend, true);
    }

    /**
     * An engine on its own actor system that runs on {@code backend}, which stays the caller's: {@link #close()}
     * leaves it open. {@code moba.backend}, {@code moba.threads} and the plugin folder are not read.
     */
    public static MobaEngine create(Config config, Backend backend) {
        EngineSettings settings = EngineSettings.from(config);
        return new MobaEngine(settings, ownSystem(config, settings), true, Objects.requireNonNull(backend, "backend"),
                false);
    }

    private static ActorSystem<Void> ownSystem(Config config, EngineSettings settings) {
        Config own = ConfigFactory.parseMap(Map.of(
                        "pekko.loggers", List.of("org.apache.pekko.event.slf4j.Slf4jLogger"),
                        "pekko.logging-filter", "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"))
                .withFallback(EventLoops.definitions(settings))
                .withFallback(config);
        return ActorSystem.create(Behaviors.empty(), "moba", own);
    }

    /**
     * The dispatchers to add to the configuration of an application's actor system before the engine joins it
     * ({@link #create(Config, ActorSystem)}): without them, sessions share {@code moba.dispatcher} and each chunk
     * pays a few more thread hand-offs.
     */
    public static Config eventLoopDispatchers(Config config) {
        return EventLoops.definitions(EngineSettings.from(config));
    }

    /** The actor system the engine runs on, to materialize streams with. */
    public ActorSystem<?> system() {
        return system;
    }

    public EngineSettings settings() {
        return settings;
    }

    /** The id of the backend the engine runs on. */
    public String backendId() {
        return backend.id();
    }

    /** Opens an empty session of the given shape. */
    public Session openSession(SessionSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (closed) {
            throw new IllegalStateException("the engine is closed");
        }
        String id = "s" + sessionNumbers.incrementAndGet();
        String loop = loops.next();
        var sessionSettings = new SessionSettings(id, spec, settings.blocksPerShard(), settings.queueCapacity(),
                settings.closeLinger(), loop);
        ActorRef<SessionActor.Command> actor = system.systemActorOf(
                SessionActor.create(sessionSettings, backend, ledger), "session-" + id,
                DispatcherSelector.fromConfig(loop));
        Session session = new Session(id, spec, actor, system.scheduler(), settings.replyTimeout(), this);
        sessions.put(id, session);
        return session;
    }

    /** The open session with this id. */
    public Optional<Session> session(String id) {
        return Optional.ofNullable(sessions.get(id));
    }

    /** {@link Session#forward} by session id; an unknown or closed id fails with {@link SessionClosedException}. */
    public CompletionStage<LayerOutput> forward(String sessionId, LayerChunk chunk) {
        Session session = sessions.get(sessionId);
        if (session == null) {
            return CompletableFuture.failedFuture(new SessionClosedException("no open session " + sessionId
                    + " on this engine"));
        }
        return session.forward(chunk);
    }

    /** Off-heap memory held now, in total and per session. */
    public MemoryUsage memory() {
        return ledger.snapshot();
    }

    MemoryLedger memoryLedger() {
        return ledger;
    }

    void forget(Session session) {
        sessions.remove(session.id(), session);
    }

    /** Closes every session, then stops the actor system and backend if the engine started them. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        for (Session session : List.copyOf(sessions.values())) {
            try {
                session.close();
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        if (ownsSystem) {
            system.terminate();
            try {
                system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
            } catch (Exception e) {
                failure = new IllegalStateException("the engine's actor system did not stop", e);
            }
        }
        if (ownsBackend) {
            backend.close();
        }
        if (failure != null) {
            throw failure;
        }
    }
}
