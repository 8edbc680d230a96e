package dev.moba.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** An event loop's queue hands over tasks that come while its thread polls and after it has gone to sleep. */
class SpinningTaskQueueTest {

    @Test
    void aTaskOfferedWhileTheTakerPollsIsTaken() throws Exception {
        assertTakenWhenOfferedAfter(Duration.ofSeconds(10), 20);
    }

    @Test
    void aTaskOfferedAfterThePollingStoppedWakesTheTaker() throws Exception {
        assertTakenWhenOfferedAfter(Duration.ofMillis(1), 100);
    }

    /** A taker polling for {@code spin} gets the task offered {@code delayMillis} after it started. */
    private static void assertTakenWhenOfferedAfter(Duration spin, long delayMillis) throws Exception {
        SpinningTaskQueue queue = new SpinningTaskQueue(SpinWait.of(spin));
        CompletableFuture<Runnable> taken = CompletableFuture.supplyAsync(() -> take(queue));
        Runnable task = () -> {};
        Thread.sleep(delayMillis);
        queue.offer(task);
        assertThat(taken.get(5, TimeUnit.SECONDS)).isSameAs(task);
    }

    @Test
    void pollingGivesUpWhenItsTimeIsOver() {
        long start = System.nanoTime();
        Object none = SpinWait.of(Duration.ofMillis(5)).poll(() -> null);
        assertThat(none).isNull();
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(Duration.ofMillis(5).toNanos());
        assertThat(new SpinWait(0).poll(() -> "now")).isEqualTo("now");
        assertThatThrownBy(() -> new SpinWait(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("spin-before-sleep");
    }

    private static Runnable take(SpinningTaskQueue queue) {
        try {
            return queue.take();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
