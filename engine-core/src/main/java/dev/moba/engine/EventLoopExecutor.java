package dev.moba.engine;

import com.typesafe.config.Config;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.dispatch.DispatcherPrerequisites;
import org.apache.pekko.dispatch.ExecutorServiceConfigurator;
import org.apache.pekko.dispatch.ExecutorServiceFactory;

/**
 * The executor of one event loop, named in a dispatcher's {@code executor} key: a single thread that polls for the
 * next task for {@code spin-before-sleep} before it sleeps (see {@link SpinWait}), and callers blocked in
 * {@link Session#call} that run their own steps ({@link EventLoop}). Pekko creates it from the dispatcher's
 * configuration.
 */
public final class EventLoopExecutor extends ExecutorServiceConfigurator {

    /** The key, inside the dispatcher's configuration, of how long the thread polls. */
    static final String SPIN_KEY = "spin-before-sleep";

    private final SpinWait spin;

    public EventLoopExecutor(Config config, DispatcherPrerequisites prerequisites) {
        super(config, prerequisites);
        this.spin = SpinWait.of(config.getDuration(SPIN_KEY));
    }

    @Override
    public ExecutorServiceFactory createExecutorServiceFactory(String id, ThreadFactory threadFactory) {
        return () -> new EventLoop(
                new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new SpinningTaskQueue(spin), threadFactory));
    }
}
