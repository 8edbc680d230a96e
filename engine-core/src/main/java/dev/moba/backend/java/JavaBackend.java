package dev.moba.backend.java;

import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.kv.HostKvCache;
import dev.moba.kv.HostLayout;
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
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.Consumer;

/**
 * The pure-Java backend: KV in off-heap host blocks ({@link HostKvCache}), gating and block attention on Vector
 * API kernels. Always available; the reference other backends are tested against.
 *
 * <p>A call is split into units of (sequence, kv head, token range) that touch disjoint query rows, run on a
 * private fork-join pool of {@code threads} workers (inline on the caller when {@code threads == 1}).
 */
public final class JavaBackend implements Backend {

    private final WorkUnits workUnits;
    private final ConcurrentLinkedDeque<Scratch> scratches = new ConcurrentLinkedDeque<>();
    private final ConcurrentLinkedDeque<Scratch> allScratches = new ConcurrentLinkedDeque<>();

    public JavaBackend(BackendOptions options) {
        this.workUnits = new WorkUnits(options.threads());
    }

    @Override
    public String id() {
        return JavaBackendProvider.ID;
    }

    @Override
    public KvCache openCache(KvSpec spec) {
        return new HostKvCache(spec, inPanels(spec) ? MatMul.PANEL : 0);
    }

    @Override
    public List<Selection> gate(List<GateRequest> requests) {
        return workUnits.gate(requests, (request, kvHead, from, to, blocks) ->
                withScratch(s -> new BlockGate(s).run(request, kvHead, from, to, blocks)));
    }

    @Override
    public List<Partials> attend(List<AttendPlan> plans, Arena arena) {
        return workUnits.attend(plans, arena, JavaBackendProvider.ID, (plan, cache, kvHead, from, to, states) ->
                withScratch(s -> new BlockAttention(s).run(plan, cache, kvHead, from, to, states)));
    }

    @Override
    public void close() {
        workUnits.close();
        allScratches.forEach(Scratch::close);
        allScratches.clear();
        scratches.clear();
    }

    /**
     * Whether blocks of {@code spec} are kept in the kernel's panels and read where they lie: fp32 ones, where a
     * panel is whole padded host rows (not with 128-bit vectors: panels of 8 floats) and the block size and head dim
     * fill whole panels with little padding. Others stay row-major and are packed into panels per use (bf16 and
     * fp16 are widened then).
     */
    private static boolean inPanels(KvSpec spec) {
        return spec.dtype() == DType.FP32 && MatMul.PANEL % HostLayout.COLUMN_MULTIPLE == 0
                && HostLayout.fillsPanels(spec.blockSize(), MatMul.PANEL)
                && HostLayout.fillsPanels(spec.headDim(), MatMul.PANEL);
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

}
