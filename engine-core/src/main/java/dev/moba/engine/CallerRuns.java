package dev.moba.engine;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Lets a thread that blocks for an engine answer ({@link Session#call}) run, itself, the event-loop steps its own
 * request schedules: the session's and shards' mailboxes that it hands work to while it drives. Otherwise each
 * step would go to the loop's thread and the answer back to the caller, two hand-offs that each cost 25-40 µs on
 * virtual machines whenever the receiving thread sleeps, more than the engine's own work on a decode step.
 *
 * <p>Only mailboxes scheduled from the driving thread come here, so the caller runs its own session's steps and
 * nobody else's; a mailbox already queued on the loop (the session busy with earlier chunks) stays there, and the
 * caller then simply waits. The state is one task list per driving thread, which lives for one call.
 */
final class CallerRuns {

    /** Steps a caller still runs after its answer is in: the session's bookkeeping of the finished chunk. */
    private static final int STEPS_AFTER_ANSWER = 4;

    private static final ThreadLocal<ArrayDeque<Pending>> DRIVEN = new ThreadLocal<>();

    private CallerRuns() {}

    /**
     * Takes {@code task}, which {@code loop} was asked to run, when the current thread is driving a call; false
     * otherwise, and then the loop runs it.
     */
    static boolean offer(Executor loop, Runnable task) {
        ArrayDeque<Pending> driven = DRIVEN.get();
        if (driven == null) {
            return false;
        }
        driven.add(new Pending(loop, task));
        return true;
    }

    /**
     * Sends a request with {@code send} and runs the steps it schedules on this thread until its answer is in (and
     * the few bookkeeping steps right after), then hands what is left to the loops and waits for the answer.
     *
     * @throws IllegalStateException when called while this thread already drives a call (from inside the engine)
     */
    static <T> T drive(Supplier<CompletableFuture<T>> send) {
        if (DRIVEN.get() != null) {
            throw new IllegalStateException("a blocking session call was made from inside the engine: use forward()");
        }
        ArrayDeque<Pending> driven = new ArrayDeque<>();
        DRIVEN.set(driven);
        CompletableFuture<T> answer;
        try {
            answer = send.get();
            int afterAnswer = 0;
            Pending next;
            while ((next = driven.poll()) != null && afterAnswer < STEPS_AFTER_ANSWER) {
                next.task().run();
                if (answer.isDone()) {
                    afterAnswer++;
                }
            }
            if (next != null) {
                driven.addFirst(next);
            }
        } finally {
            DRIVEN.remove();
            for (Pending left : driven) {
                left.loop().execute(left.task());
            }
        }
        return answer.join();
    }

    private record Pending(Executor loop, Runnable task) {}
}
