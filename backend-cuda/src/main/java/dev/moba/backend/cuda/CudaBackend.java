package dev.moba.backend.cuda;

import dev.moba.backend.java.JavaBackend;
import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.merge.Partials;
import dev.moba.plan.AttendPlan;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.KvCache;
import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * MoBA on one CUDA GPU: KV blocks live in device memory ({@link CudaKvCache}), and gating and block attention run
 * as kernels compiled at start for the device's architecture. Each call stages its queries on the device, runs
 * every request, and copies the selections or the merged partials back.
 *
 * <p>Calls from several threads are serialised on the device. Gating of more than
 * {@link CudaKernels#MAX_GATE_PICKS} blocks per query, and head dimensions above {@link CudaKernels#MAX_ATTEND_DIM},
 * run on the Java backend instead.
 */
final class CudaBackend implements Backend {

    private final CudaDevice device;
    private final CudaKernels kernels;
    private final DeviceScratch scratch;
    private final BlockPool pool;
    private final JavaBackend fallback;

    CudaBackend(CudaDevice device, KernelCompiler compiler, BackendOptions options) {
        this.device = device;
        this.kernels = device.run(() -> new CudaKernels(device, compiler));
        this.scratch = new DeviceScratch(device);
        this.pool = new BlockPool(device);
        this.fallback = new JavaBackend(options);
    }

    /** {@code backend} as the CUDA backend, or an error saying it is another one. */
    static CudaBackend of(Backend backend) {
        if (backend instanceof CudaBackend cuda) {
            return cuda;
        }
        throw new IllegalArgumentException("device sequences run on the CUDA backend, not on '" + backend.id() + "'");
    }

    @Override
    public String id() {
        return CudaBackendProvider.ID;
    }

    CudaDevice device() {
        return device;
    }

    CudaKernels kernels() {
        return kernels;
    }

    DeviceScratch scratch() {
        return scratch;
    }

    BlockPool pool() {
        return pool;
    }

    @Override
    public KvCache openCache(KvSpec spec) {
        return new CudaKvCache(this, spec);
    }

    @Override
    public List<Selection> gate(List<GateRequest> requests) {
        List<Selection> selections = new ArrayList<>(requests.size());
        for (GateRequest request : requests) {
            if (request.picks() == 0) {
                selections.add(Selection.none(request.rows()));
            } else if (request.picks() > CudaKernels.MAX_GATE_PICKS) {
                selections.add(fallback.gate(List.of(request)).getFirst());
            } else {
                selections.add(device.run(() -> gateOnDevice(request)));
            }
        }
        return selections;
    }

    @Override
    public List<Partials> attend(List<AttendPlan> plans, Arena arena) {
        List<Partials> partials = new ArrayList<>(plans.size());
        for (AttendPlan plan : plans) {
            if (plan.layout().headDim() > CudaKernels.MAX_ATTEND_DIM || !(plan.cache() instanceof CudaKvCache)) {
                partials.add(fallback.attend(List.of(plan), arena).getFirst());
            } else {
                partials.add(attendOnDevice(plan, arena));
            }
        }
        return partials;
    }

    @Override
    public void close() {
        device.execute(() -> {
            scratch.close();
            pool.close();
            kernels.close();
        });
        fallback.close();
        device.close();
    }

    private Selection gateOnDevice(GateRequest request) {
        Tensor q = request.queries();
        var layout = request.layout();
        var summaries = request.summaries();
        int rows = request.rows();
        long outBytes = (long) rows * request.picks() * Integer.BYTES;
        long[] at = scratch.regions(q.segment().byteSize(), summaries.bytesReserved(), outBytes);
        device.upload(q.segment(), at[0]);
        device.upload(summaries.segment(), at[1]);
        kernels.gate(at[0], DType.FP32, q.tokens(), layout.qHeads(), layout.groupSize(), layout.headDim(), request.firstPosition(),
                request.blockSize(), at[1], layout.kvHeads(), summaries.capacity(), request.picks(), at[2]);
        return new Selection(rows, request.picks(), device.downloadInts(at[2], rows * request.picks()));
    }

    private Partials attendOnDevice(AttendPlan plan, Arena arena) {
        int rows = plan.rows();
        int dim = plan.layout().headDim();
        CudaKvCache cache = (CudaKvCache) plan.cache();
        KvSpec spec = cache.spec();
        Tensor q = plan.queries();
        if (q.dtype() != DType.FP32) {
            throw new IllegalArgumentException("plan queries must be fp32, got " + q.dtype());
        }
        MemorySegment output = arena.allocate((long) rows * dim * Float.BYTES, 64);
        float[] lse = new float[rows];
        boolean tiles = CudaKernels.tilesSupport(spec.dtype(), dim);
        try (Arena host = Arena.ofConfined()) {
            PlanLists lists = PlanLists.of(plan, tiles ? PlanLists.Entries.PAIRS : PlanLists.Entries.QUADS, host);
            MemorySegment lseOut = host.allocate((long) rows * Float.BYTES);
            device.execute(() -> {
                long slotRows = (long) rows * lists.slots();
                long[] at = scratch.regions(q.segment().byteSize(), tiles ? q.size() * spec.dtype().bytes() : 0,
                        lists.lists().byteSize(), lists.tileStarts().byteSize(), lists.entries().byteSize(),
                        slotRows * dim * Float.BYTES, slotRows * Float.BYTES, output.byteSize(),
                        (long) rows * Float.BYTES);
                device.upload(q.segment(), at[0]);
                device.upload(lists.entries(), at[4]);
                kernels.fillNegativeInfinity(at[6], slotRows);
                if (tiles) {
                    kernels.convert(at[0], q.size(), spec.dtype(), at[1]);
                    device.upload(lists.lists(), at[2]);
                    device.upload(lists.tileStarts(), at[3]);
                    kernels.attendTiles(at[1], plan.layout().qHeads(), plan.firstPosition(), cache.table(), spec,
                            plan.scale(), at[2], at[3], lists.listCount(), at[4], lists.slots(), at[5], at[6],
                            lists.tiles(), 0L);
                } else {
                    kernels.attend(at[0], plan.layout().qHeads(), plan.layout().groupSize(), dim, cache.table(), spec,
                            plan.scale(), at[4], lists.count(), lists.slots(), at[5], at[6]);
                }
                kernels.merge(at[5], at[6], rows, lists.slots(), dim, at[7], DType.FP32, at[8]);
                device.download(at[7], output);
                device.download(at[8], lseOut);
            });
            MemorySegment.copy(lseOut, ValueLayout.JAVA_FLOAT, 0, lse, 0, rows);
        }
        return new Partials(output, lse, dim);
    }
}
