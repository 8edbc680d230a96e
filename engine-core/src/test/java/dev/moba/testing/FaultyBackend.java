package dev.moba.testing;

import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.merge.Partials;
import dev.moba.plan.AttendPlan;
import dev.moba.spi.Backend;
import dev.moba.spi.KvCache;
import dev.moba.spi.KvSpec;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.List;

/**
 * The one-thread Java backend with faults on demand: gating or attention throw what they are told to, and caches
 * refuse to truncate. Every call otherwise gives the Java backend's numbers.
 */
public final class FaultyBackend implements Backend {

    /** What to throw from {@link #gate}, or {@code null}. */
    public volatile Throwable gateFailure;
    /** What to throw from {@link #attend}, or {@code null}. */
    public volatile Throwable attendFailure;
    /** Whether caches refuse to truncate (with an {@link IllegalStateException}). */
    public volatile boolean truncateFails;

    private final Backend delegate = TestBackends.INLINE;

    @Override
    public String id() {
        return "faulty";
    }

    @Override
    public KvCache openCache(KvSpec spec) {
        return new Cache(delegate.openCache(spec));
    }

    @Override
    public List<Selection> gate(List<GateRequest> requests) {
        throwIfSet(gateFailure);
        return delegate.gate(requests);
    }

    @Override
    public List<Partials> attend(List<AttendPlan> plans, Arena arena) {
        throwIfSet(attendFailure);
        return delegate.attend(plans.stream().map(p -> new AttendPlan(((Cache) p.cache()).cache, p.queries(),
                p.firstPosition(), p.scale(), p.layout(), p.tasksByKvHead(), p.output())).toList(), arena);
    }

    @Override
    public void close() {}

    private static void throwIfSet(Throwable failure) {
        if (failure != null) {
            FaultyBackend.<RuntimeException>sneakyThrow(failure);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> void sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }

    /** A Java cache that can refuse to truncate. */
    private final class Cache implements KvCache {

        private final KvCache cache;

        Cache(KvCache cache) {
            this.cache = cache;
        }

        @Override
        public KvSpec spec() {
            return cache.spec();
        }

        @Override
        public int length() {
            return cache.length();
        }

        @Override
        public List<SealedBlock> append(Tensor k, Tensor v) {
            return cache.append(k, v);
        }

        @Override
        public void truncate(int length) {
            if (truncateFails) {
                throw new IllegalStateException("truncate failed");
            }
            cache.truncate(length);
        }

        @Override
        public Tensor readKeys(Arena arena, int from, int to) {
            return cache.readKeys(arena, from, to);
        }

        @Override
        public Tensor readValues(Arena arena, int from, int to) {
            return cache.readValues(arena, from, to);
        }

        @Override
        public long bytesToAppend(int tokens) {
            return cache.bytesToAppend(tokens);
        }

        @Override
        public long bytesReserved() {
            return cache.bytesReserved();
        }

        @Override
        public void close() {
            cache.close();
        }
    }
}
