package dev.moba.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WorkUnitsTest {

    @ParameterizedTest(name = "{0} threads")
    @ValueSource(ints = {1, 2, 4})
    void splitCoversEveryTokenOfEveryHeadOnce(int threads) {
        try (WorkUnits units = new WorkUnits(threads)) {
            for (int tokens : new int[] {1, 63, 64, 1000, 5000}) {
                int[][] seen = new int[3][tokens];
                units.split(tokens, 3, (head, from, to) -> {
                    assertThat(to - from).isLessThanOrEqualTo(2048);
                    for (int t = from; t < to; t++) {
                        seen[head][t]++;
                    }
                });
                for (int[] head : seen) {
                    assertThat(head).containsOnly(1);
                }
            }
        }
    }

    /** A failing unit is rethrown only once every other unit is over: units write into the caller's memory. */
    @ParameterizedTest(name = "{0} units")
    @ValueSource(ints = {2, 6})
    void aFailureIsRethrownAfterEveryUnitHasFinished(int count) throws Exception {
        try (WorkUnits units = new WorkUnits(2)) {
            AtomicInteger finished = new AtomicInteger();
            CountDownLatch failed = new CountDownLatch(1);
            List<Runnable> work = new ArrayList<>();
            work.add(() -> {
                failed.countDown();
                throw new IllegalStateException("unit failed");
            });
            for (int i = 1; i < count; i++) {
                work.add(() -> {
                    try {
                        failed.await();
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    finished.incrementAndGet();
                });
            }
            assertThatThrownBy(() -> units.runAll(work)).hasMessageContaining("unit failed");
            assertThat(finished.get()).isEqualTo(count - 1);
        }
    }
}
