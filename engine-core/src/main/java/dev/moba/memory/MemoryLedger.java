package dev.moba.memory;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The off-heap bytes an engine holds, per session and in total, against a budget. Block shards reserve before
 * they append and settle to what they really hold afterwards, so the total never passes the budget by more than
 * the small summary tables that are charged unconditionally. The most held at once is kept as well ({@link #peak()}).
 * Thread-safe and lock-free; one per engine.
 */
public final class MemoryLedger {

    private final long budget;
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
    private final Map<String, AtomicLong> bySession = new ConcurrentHashMap<>();

    /** @param budget the most bytes {@link #tryReserve} lets the engine hold */
    public MemoryLedger(long budget) {
        if (budget < 0) {
            throw new IllegalArgumentException("memory budget must be >= 0 bytes, got " + budget);
        }
        this.budget = budget;
    }

    /** Adds {@code bytes} to {@code session} if the total stays within the budget; says whether it did. */
    public boolean tryReserve(String session, long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("cannot reserve " + bytes + " bytes");
        }
        long current;
        do {
            current = used.get();
            if (current + bytes > budget) {
                return false;
            }
        } while (!used.compareAndSet(current, current + bytes));
        peak.accumulateAndGet(current + bytes, Math::max);
        sessionCounter(session).addAndGet(bytes);
        return true;
    }

    /** Adds {@code bytes} (negative to give back) to {@code session} whatever the budget says. */
    public void charge(String session, long bytes) {
        peak.accumulateAndGet(used.addAndGet(bytes), Math::max);
        sessionCounter(session).addAndGet(bytes);
    }

    /** Forgets {@code session}, whose memory has been freed; its remaining bytes leave the total. */
    public void forget(String session) {
        AtomicLong left = bySession.remove(session);
        if (left != null) {
            used.addAndGet(-left.get());
        }
    }

    public long budget() {
        return budget;
    }

    /** Bytes held by every session together. */
    public long used() {
        return used.get();
    }

    /** The most bytes every session together held at once since the ledger was created. */
    public long peak() {
        return peak.get();
    }

    /** Bytes held by {@code session}; 0 for one that holds nothing or is gone. */
    public long used(String session) {
        AtomicLong counter = bySession.get(session);
        return counter == null ? 0 : counter.get();
    }

    /** A consistent-enough picture for reports: totals may move while it is taken. */
    public MemoryUsage snapshot() {
        Map<String, Long> sessions = new TreeMap<>();
        bySession.forEach((id, bytes) -> sessions.put(id, bytes.get()));
        return new MemoryUsage(used.get(), peak.get(), budget, sessions);
    }

    private AtomicLong sessionCounter(String session) {
        return bySession.computeIfAbsent(session, s -> new AtomicLong());
    }
}
