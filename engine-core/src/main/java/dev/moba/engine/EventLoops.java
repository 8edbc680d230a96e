package dev.moba.engine;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads sessions run on. A session and all its block shards share one single-threaded dispatcher, an event
 * loop, so that a chunk's hand-offs between router and shards stay on one thread with no park and wake between
 * them: on the machines measured each such wake cost 25-40 µs, most of what a decode step spent in the engine.
 * Sessions are dealt to the loops in turn; sessions on one loop take turns, chunk step by chunk step, while the
 * backend spreads each call over its own workers.
 */
final class EventLoops {

    private static final Logger LOG = LoggerFactory.getLogger(EventLoops.class);
    private static final String PATH = "moba.event-loops.loop-";

    /** The shared dispatcher sessions run on where the actor system defines no event loops. */
    private static final String SHARED = "moba.dispatcher";

    private final String[] dispatchers;
    private final AtomicLong dealt = new AtomicLong();

    private EventLoops(String[] dispatchers) {
        this.dispatchers = dispatchers;
    }

    /**
     * The dispatcher definitions of the event loops {@code settings} ask for, for an actor system's configuration:
     * each a thread that polls for {@code spin-before-sleep} before it sleeps.
     */
    static Config definitions(EngineSettings settings) {
        int loops = count(settings.eventLoops());
        Duration spin = settings.spinBeforeSleep();
        Map<String, Object> entries = new HashMap<>();
        for (int i = 0; i < loops; i++) {
            entries.put(PATH + i + ".type", "Dispatcher");
            entries.put(PATH + i + ".executor", EventLoopExecutor.class.getName());
            entries.put(PATH + i + "." + EventLoopExecutor.SPIN_KEY, spin.toNanos() + "ns");
            entries.put(PATH + i + ".throughput", 1);
        }
        return ConfigFactory.parseMap(entries);
    }

    /** The loops to use, from {@code moba.session.event-loops}: 0 means one per processor. */
    static int count(int configured) {
        return configured == 0 ? Runtime.getRuntime().availableProcessors() : configured;
    }

    /**
     * The event loops {@code system} defines (those of {@link #definitions}), or, for a system configured without
     * them, the shared {@code moba.dispatcher}, which costs a thread hand-off per message.
     */
    static EventLoops of(ActorSystem<?> system, int loops) {
        Config config = system.settings().config();
        int defined = 0;
        while (defined < loops && config.hasPath(PATH + defined)) {
            defined++;
        }
        if (defined == 0) {
            LOG.info("the actor system defines no event loops ({}0...): sessions share {}", PATH, SHARED);
            return new EventLoops(new String[] {SHARED});
        }
        String[] paths = new String[defined];
        for (int i = 0; i < defined; i++) {
            paths[i] = PATH + i;
        }
        return new EventLoops(paths);
    }

    /** The dispatcher of the next session. */
    String next() {
        return dispatchers[(int) (dealt.getAndIncrement() % dispatchers.length)];
    }

    int size() {
        return dispatchers.length;
    }
}
