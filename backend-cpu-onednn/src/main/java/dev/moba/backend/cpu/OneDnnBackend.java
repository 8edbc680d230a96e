package dev.moba.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.dnnl_bf16;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_engine_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_engine_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;

import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.kv.HostKvCache;
import dev.moba.merge.Partials;
import dev.moba.plan.AttendPlan;
import dev.moba.backend.WorkUnits;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.KvCache;
import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.Consumer;
import org.bytedeco.dnnl.dnnl_engine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Block attention on oneDNN matmuls. KV lives in host blocks ({@link HostKvCache}) that the matmuls read in place:
 * transposed keys are plain {@code [dim, keys]} weights, values plain {@code [keys, dim]} weights. bf16 storage runs
 * bf16 kernels (AMX where the CPU has it) with fp32 accumulation where oneDNN has them; otherwise, and for fp16, a
 * block is widened to fp32 before its matmuls. Softmax and the online merge run in Java on the Vector API.
 *
 * <p>Gating scores a tile of queries against every candidate block's mean key with one fp32 oneDNN matmul (the
 * contract needs fp32-accurate scores), then keeps each row's best blocks in Java; profiles of {@code moba bench}
 * at 128K tokens showed it faster than the Java backend's gating kernels.
 *
 * <p>A call is split into units of (sequence, kv head, token range) that write disjoint rows and run on a
 * fork-join pool of {@code threads} workers (inline when {@code threads == 1}); each worker lets oneDNN use
 * {@code nativeThreads} OpenMP threads.
 */
public final class OneDnnBackend implements Backend {

    private static final Logger LOG = LoggerFactory.getLogger(OneDnnBackend.class);

    private final DnnlLibrary library;
    private final WorkUnits workUnits;
    private final int nativeThreads;
    private final boolean bf16Kernels;
    private final dnnl_engine engine = new dnnl_engine();
    private final Primitives primitives;
    private final ThreadLocal<Boolean> nativeThreadsSet = ThreadLocal.withInitial(() -> false);
    private final ConcurrentLinkedDeque<Worker> idle = new ConcurrentLinkedDeque<>();
    private final ConcurrentLinkedDeque<Worker> all = new ConcurrentLinkedDeque<>();

    OneDnnBackend(DnnlLibrary library, BackendOptions options, int nativeThreads) {
        if (nativeThreads < 1) {
            throw new IllegalArgumentException("oneDNN threads per worker must be >= 1, got " + nativeThreads);
        }
        this.library = library;
        this.workUnits = new WorkUnits(options.threads());
        this.nativeThreads = nativeThreads;
        Dnnl.check(dnnl_engine_create(engine, dnnl_cpu, 0), "CPU engine creation");
        this.primitives = new Primitives(engine);
        this.bf16Kernels = hasKernels(dnnl_bf16);
    }

    @Override
    public String id() {
        return OneDnnBackendProvider.ID;
    }

    /** Whether bf16 storage runs on oneDNN's bf16 kernels here (else it is widened to fp32). */
    boolean bf16Kernels() {
        return bf16Kernels;
    }

    /** How each storage type is computed here, for logs and tools. */
    public String describe() {
        return "oneDNN " + library.version() + " on " + library.isa() + ", " + workUnits.threads() + " worker(s) x "
                + nativeThreads + " OpenMP thread(s); bf16 "
                + (bf16Kernels ? "on bf16 kernels (" + implementation(dnnl_bf16) + ")" : "widened to fp32")
                + ", fp32 on " + implementation(dnnl_f32) + ", fp16 widened to fp32";
    }

    @Override
    public KvCache openCache(KvSpec spec) {
        return new HostKvCache(spec);
    }

    @Override
    public List<Selection> gate(List<GateRequest> requests) {
        long start = System.nanoTime();
        List<Selection> selections = workUnits.gate(requests, (request, kvHead, from, to, blocks) ->
                withWorker(w -> new TileGate(w).run(request, kvHead, from, to, blocks)));
        if (LOG.isDebugEnabled()) {
            LOG.debug("gate: {} query rows in {} ms", requests.stream().mapToLong(GateRequest::rows).sum(),
                    String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e6));
        }
        return selections;
    }

    @Override
    public List<Partials> attend(List<AttendPlan> plans, Arena arena) {
        long start = System.nanoTime();
        List<Partials> results = workUnits.attend(plans, arena, OneDnnBackendProvider.ID,
                (plan, cache, kvHead, from, to, states) -> withWorker(w -> new TileAttention(w)
                        .run(plan, cache, shape(cache.spec().dtype(), cache), kvHead, from, to, states)));
        if (LOG.isDebugEnabled()) {
            LOG.debug("attend: {} query-key pairs in {} ms", plans.stream().mapToLong(AttendPlan::attendedPairs).sum(),
                    String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e6));
        }
        return results;
    }

    @Override
    public void close() {
        workUnits.close();
        all.forEach(Worker::close);
        all.clear();
        idle.clear();
        primitives.close();
        dnnl_engine_destroy(engine);
    }

    private AttentionShape shape(DType storage, HostKvCache cache) {
        int computeType = storage == DType.BF16 && bf16Kernels ? dnnl_bf16 : dnnl_f32;
        return new AttentionShape(storage, computeType, cache.spec().headDim(), cache.paddedBlock(),
                cache.paddedDim());
    }

    /** Whether oneDNN has a matmul kernel for {@code dataType} inputs here. */
    private boolean hasKernels(int dataType) {
        try {
            implementation(dataType);
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    /** The kernel oneDNN picks for a typical scores product in {@code dataType}. */
    private String implementation(int dataType) {
        DType storage = dataType == dnnl_f32 ? DType.FP32 : DType.BF16;
        AttentionShape probe = new AttentionShape(storage, dataType, 128, 512, 128);
        return primitives.get(new Primitives.Key(probe, Primitives.Kind.SCORES, AttentionShape.MAX_ROWS, 512))
                .implementation();
    }

    private void withWorker(Consumer<Worker> work) {
        if (!nativeThreadsSet.get()) {
            library.setCallerThreads(nativeThreads);
            nativeThreadsSet.set(true);
        }
        Worker worker = idle.pollFirst();
        if (worker == null) {
            worker = new Worker(engine, primitives);
            all.add(worker);
        }
        try {
            work.accept(worker);
        } finally {
            idle.addFirst(worker);
        }
    }

}
