package dev.moba.engine;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * How long an event loop with nothing to do keeps polling before it sleeps. On virtual machines a sleeping thread
 * takes 25-40 µs to wake (its CPU halts and must be woken by the host), about as long as a whole decode step spends
 * in the engine; a loop that polls sees the next chunk at once. Polling yields the processor between probes, so a
 * busy machine gives the time to threads with work, and it stops after {@code nanos}, so an idle engine costs
 * nothing. (Callers blocked on an answer are left to sleep: polling there competes with the backend's workers for
 * the processors while a step computes, which measured slower on two cores.)
 *
 * @param nanos the longest a thread polls, 0 for never
 */
record SpinWait(long nanos) {

    /** Probes polled with a bare pause before the poller starts yielding the processor. */
    private static final int PAUSES = 256;

    SpinWait {
        if (nanos < 0) {
            throw new IllegalArgumentException("moba.session.spin-before-sleep must be >= 0, got " + nanos + " ns");
        }
    }

    static SpinWait of(Duration duration) {
        return new SpinWait(duration.toNanos());
    }

    /** Probes {@code probe} until it gives a value or the time is up; null then. */
    <T> T poll(Supplier<T> probe) {
        T value = probe.get();
        if (value != null || nanos == 0) {
            return value;
        }
        long deadline = System.nanoTime() + nanos;
        for (int probes = 1; (value = probe.get()) == null; probes++) {
            if (probes < PAUSES) {
                Thread.onSpinWait();
            } else if (System.nanoTime() - deadline >= 0) {
                return null;
            } else {
                Thread.yield();
            }
        }
        return value;
    }
}
