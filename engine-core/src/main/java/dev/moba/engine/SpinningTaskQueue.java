package dev.moba.engine;

import java.util.concurrent.LinkedBlockingQueue;

/** The task queue of an event loop: its thread polls a while for the next task before it sleeps. */
final class SpinningTaskQueue extends LinkedBlockingQueue<Runnable> {

    private final transient SpinWait spin;

    SpinningTaskQueue(SpinWait spin) {
        this.spin = spin;
    }

    @Override
    public Runnable take() throws InterruptedException {
        Runnable task = spin.poll(this::poll);
        return task != null ? task : super.take();
    }
}
