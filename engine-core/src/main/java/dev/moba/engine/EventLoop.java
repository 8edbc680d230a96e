package dev.moba.engine;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * One event loop: its own thread ({@code thread}, which polls a while before it sleeps), except for the tasks a
 * caller blocked in {@link Session#call} runs itself ({@link CallerRuns}).
 */
final class EventLoop extends AbstractExecutorService {

    private final ThreadPoolExecutor thread;

    EventLoop(ThreadPoolExecutor thread) {
        this.thread = thread;
    }

    @Override
    public void execute(Runnable task) {
        if (!CallerRuns.offer(thread, task)) {
            thread.execute(task);
        }
    }

    @Override
    public void shutdown() {
        thread.shutdown();
    }

    @Override
    public List<Runnable> shutdownNow() {
        return thread.shutdownNow();
    }

    @Override
    public boolean isShutdown() {
        return thread.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return thread.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return thread.awaitTermination(timeout, unit);
    }
}
