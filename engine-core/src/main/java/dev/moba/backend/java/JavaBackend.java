package dev.moba.backend.java;

import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.kv.HostKvCache;
import dev.moba.merge.Partials;
import dev.moba.plan.AttendPlan;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.KvCache;
import dev.moba.spi.KvSpec;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.function.Consumer;

/**
 * The pure-Java backend: KV in off-heap host blocks ({@link HostKvCache}), gating and block attention on Vector
 * API kernels. Always available; the reference other backends are tested against.
 *
 * <p>A call is split into units of (sequence, kv head, token range) that touch disjoint query rows, run on a
 * private fork-join pool of {@code threads} workers (inline on the caller when {@code threads == 1}).
 */
public final class JavaBackend implements Backend {

    /** Tokens per unit of work below which a kv head's rows are not split further. */
    private static final int MIN_UNIT_TOKENS = 64;

    /**
     * Tokens per unit of work above which a kv head's rows are split even on one thread: a unit's queries and
     * output rows (2048 tokens of 8 heads of 128 floats: 8 MB each) then stay in cache while its blocks stream by.
     */
    private static final int MAX_UNIT_TOKENS = 2048;

    private final int threads;
    private final ForkJoinPool pool;
    private final ConcurrentLinkedDeque<Scratch> scratches = new ConcurrentLinkedDeque<>();
    private final ConcurrentLinkedDeque<Scratch> allScratches = new ConcurrentLinkedDeque<>();

    public JavaBackend(BackendOptions options) {
        this.threads = options.threads();
        this.pool = threads == 1 ? null : new ForkJoinPool(threads);
    }

    @Override
    public String id() {
        return JavaBackendProvider.ID;
    }

    @Override
    public KvCache openCache(KvSpec spec) {
        return new HostKvCache(spec);
    }

    @Override
    public List<Selection> gate(List<GateRequest> requests) {
        List<Selection> selections = new ArrayList<>(requests.size());
        List<Runnable> units = new ArrayList<>();
        for (GateRequest request : requests) {
            int[] blocks = new int[request.rows() * request.picks()];
            selections.add(new Selection(request.rows(), request.picks(), blocks));
            split(request.queries().tokens(), request.layout().kvHeads(), (kvHead, from, to) ->
                    units.add(() -> withScratch(s -> new BlockGate(s).run(request, kvHead, from, to, blocks))));
        }
        runAll(units);
        return List.copyOf(selections);
    }

    @Override
    public List<Partials> attend(List<AttendPlan> plans, Arena arena) {
        List<Partials> results = new ArrayList<>(plans.size());
        List<Runnable> units = new ArrayList<>();
        for (AttendPlan plan : plans) {
            if (!(plan.cache() instanceof HostKvCache cache)) {
                throw new IllegalArgumentException("the java backend cannot read a cache of type "
                        + plan.cache().getClass().getName());
            }
            Partials partials = Partials.empty(arena, plan.rows(), plan.layout().headDim());
            RowAccumulators acc = new RowAccumulators(partials);
            int qHeads = plan.layout().qHeads();
            split(plan.queries().tokens(), plan.layout().kvHeads(), (kvHead, from, to) -> units.add(() -> {
                withScratch(s -> new BlockAttention(s).run(plan, cache, kvHead, from, to, acc));
                finishRows(acc, kvHead, from, to, qHeads, plan.layout().groupSize());
            }));
            results.add(partials);
        }
        runAll(units);
        return List.copyOf(results);
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
        allScratches.forEach(Scratch::close);
        allScratches.clear();
        scratches.clear();
    }

    private static void finishRows(RowAccumulators acc, int kvHead, int from, int to, int qHeads, int group) {
        for (int t = from; t < to; t++) {
            int first = t * qHeads + kvHead * group;
            acc.finish(first, first + group);
        }
    }

    /** Splits the tokens of each kv head into ranges so that there are a few units per worker. */
    private void split(int tokens, int kvHeads, UnitSink sink) {
        int parts = Math.max(1, Math.min((threads * 4 + kvHeads - 1) / kvHeads, tokens / MIN_UNIT_TOKENS));
        if (threads == 1) {
            parts = 1;
        }
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

    private void runAll(List<Runnable> units) {
        if (pool == null || units.size() == 1) {
            units.forEach(Runnable::run);
            return;
        }
        List<ForkJoinTask<?>> tasks = new ArrayList<>(units.size());
        for (Runnable unit : units) {
            tasks.add(pool.submit(unit));
        }
        for (ForkJoinTask<?> task : tasks) {
            task.join();
        }
    }

    private void withScratch(Consumer<Scratch> work) {
        Scratch scratch = scratches.pollFirst();
        if (scratch == null) {
            scratch = new Scratch();
            allScratches.add(scratch);
        }
        try {
            work.accept(scratch);
        } finally {
            scratches.addFirst(scratch);
        }
    }

    @FunctionalInterface
    private interface UnitSink {
        void accept(int kvHead, int tokenFrom, int tokenTo);
    }
}
