package dev.moba.backend;

import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.kv.HostKvCache;
import dev.moba.merge.Partials;
import dev.moba.merge.RowStates;
import dev.moba.plan.AttendPlan;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * How a CPU backend spreads one call over its threads: the call's query rows are cut into units of (kv head,
 * token range) that write disjoint rows, so units run side by side without locks, on a fork-join pool of
 * {@code threads} workers, or inline on the caller when there is one thread. Thread-safe; close it with its
 * backend.
 */
public final class WorkUnits implements AutoCloseable {

    /** Tokens per unit below which a kv head's rows are not split further. */
    private static final int MIN_UNIT_TOKENS = 64;

    /**
     * Tokens per unit above which a kv head's rows are split even on one thread: a unit's queries and output rows
     * (2048 tokens of 8 heads of 128 floats: 8 MB each) then stay in cache while its blocks stream by.
     */
    private static final int MAX_UNIT_TOKENS = 2048;

    /**
     * Multiply-adds of a gate call below which its units run on the caller: about what one thread does while a
     * sleeping worker wakes on a virtual machine (25-40 µs), so forking a decode step's gate only adds that wait.
     */
    private static final long INLINE_GATE_WORK = 1 << 19;

    private final int threads;
    private final ForkJoinPool pool;

    /** @param threads workers; 1 runs every unit on the calling thread */
    public WorkUnits(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads);
    }

    public int threads() {
        return threads;
    }

    /** Cuts {@code tokens} query tokens of each of {@code kvHeads} heads into ranges, a few per worker. */
    public void split(int tokens, int kvHeads, Sink sink) {
        int parts = threads == 1 ? 1
                : Math.max(1, Math.min((threads * 4 + kvHeads - 1) / kvHeads, tokens / MIN_UNIT_TOKENS));
        parts = Math.max(parts, (tokens + MAX_UNIT_TOKENS - 1) / MAX_UNIT_TOKENS);
        for (int j = 0; j < kvHeads; j++) {
            for (int p = 0; p < parts; p++) {
                int from = (int) ((long) tokens * p / parts);
                int to = (int) ((long) tokens * (p + 1) / parts);
                if (from < to) {
                    sink.accept(j, from, to);
                }
            }
        }
    }

    /**
     * The selections of {@code requests}: each request's rows cut into units as {@link #split} cuts them, every unit
     * run through {@link #runAll} by {@code gate}, which writes its rows' picks into the request's array; a call
     * too small to be worth a worker's wake-up (a decode step's, up to a few thousand blocks) runs on the caller.
     */
    public List<Selection> gate(List<GateRequest> requests, GateUnit gate) {
        List<Selection> selections = new ArrayList<>(requests.size());
        List<Runnable> units = new ArrayList<>();
        long work = 0;
        for (GateRequest request : requests) {
            work += (long) request.rows() * request.summaries().blocks() * request.layout().headDim();
            int[] blocks = new int[request.rows() * request.picks()];
            selections.add(new Selection(request.rows(), request.picks(), blocks));
            split(request.queries().tokens(), request.layout().kvHeads(),
                    (kvHead, from, to) -> units.add(() -> gate.run(request, kvHead, from, to, blocks)));
        }
        if (work < INLINE_GATE_WORK) {
            units.forEach(Runnable::run);
        } else {
            runAll(units);
        }
        return List.copyOf(selections);
    }

    /**
     * The partials of {@code plans}, over each plan's {@link AttendPlan#output() output} where it names one, else
     * in {@code arena}: each plan's rows cut into units as {@link #split} cuts them, every unit run through
     * {@link #runAll} by {@code attend}, which folds its rows' blocks into the plan's {@link RowStates}, then
     * normalised. A plan whose cache is not a {@link HostKvCache} is refused before any unit runs, naming
     * {@code backend}.
     */
    public List<Partials> attend(List<AttendPlan> plans, Arena arena, String backend, AttendUnit attend) {
        List<Partials> results = new ArrayList<>(plans.size());
        List<Runnable> units = new ArrayList<>();
        for (AttendPlan plan : plans) {
            if (!(plan.cache() instanceof HostKvCache cache)) {
                throw new IllegalArgumentException("the " + backend + " backend cannot read a cache of type "
                        + plan.cache().getClass().getName());
            }
            int dim = plan.layout().headDim();
            Partials partials = plan.output() != null
                    ? Partials.unwritten(plan.output().segment(), plan.rows(), dim)
                    : Partials.unwritten(arena, plan.rows(), dim);
            RowStates states = new RowStates(partials);
            split(plan.queries().tokens(), plan.layout().kvHeads(), (kvHead, from, to) -> units.add(() -> {
                attend.run(plan, cache, kvHead, from, to, states);
                states.finish(kvHead, from, to, plan.layout().qHeads(), plan.layout().groupSize());
            }));
            results.add(partials);
        }
        runAll(units);
        return List.copyOf(results);
    }

    /**
     * Runs every unit and returns when all are done, failed or not; then the first failure is rethrown. When there are no more units
     * than workers (a decode step), the caller runs one of them itself rather than wait idle: one worker fewer to
     * wake, which is a good part of such a small call's time.
     */
    public void runAll(List<Runnable> units) {
        if (pool == null || units.size() <= 1) {
            units.forEach(Runnable::run);
            return;
        }
        boolean callerHelps = units.size() <= threads;
        List<ForkJoinTask<?>> tasks = new ArrayList<>(units.size());
        for (Runnable unit : callerHelps ? units.subList(1, units.size()) : units) {
            tasks.add(pool.submit(unit));
        }
        RuntimeException failure = null;
        if (callerHelps) {
            try {
                units.getFirst().run();
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        // Every unit must be over before the call returns, failed or not: units write into the caller's memory.
        for (ForkJoinTask<?> task : tasks) {
            try {
                task.join();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    /** One unit of {@link #gate}: picks of the rows of tokens {@code [tokenFrom, tokenTo)} of one kv head. */
    @FunctionalInterface
    public interface GateUnit {
        void run(GateRequest request, int kvHead, int tokenFrom, int tokenTo, int[] blocks);
    }

    /** One unit of {@link #attend}: the rows of tokens {@code [tokenFrom, tokenTo)} of one kv head of a plan. */
    @FunctionalInterface
    public interface AttendUnit {
        void run(AttendPlan plan, HostKvCache cache, int kvHead, int tokenFrom, int tokenTo, RowStates states);
    }

    /** Receives the units of {@link #split}. */
    @FunctionalInterface
    public interface Sink {
        void accept(int kvHead, int tokenFrom, int tokenTo);
    }
}
