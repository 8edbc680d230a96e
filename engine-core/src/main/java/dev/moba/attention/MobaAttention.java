package dev.moba.attention;

import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.kv.SummaryTable;
import dev.moba.memory.SlabArena;
import dev.moba.merge.Partials;
import dev.moba.plan.AttendPlan;
import dev.moba.plan.Planner;
import dev.moba.spi.Backend;
import dev.moba.spi.KvSpec;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * MoBA attention of one layer over any number of growing sequences: the synchronous core every execution path
 * (one-shot prefill, chunked prefill, decode, streaming) goes through.
 *
 * <p>A {@link #forward} call takes the next chunk of each sequence in a batch and returns their outputs. For each
 * chunk it rounds q, k and v to the storage type, appends k and v to the sequence's blocks (sealing full blocks
 * and recording their mean keys), selects each query's blocks (gating, one backend call for the batch), inverts the
 * selection into per-block work (planning) and runs it (attention, one backend call for the batch).
 *
 * <p>Inputs are validated before anything changes: a rejected call leaves every sequence as it was, and a call
 * that fails later (a backend error) is undone before its error is thrown. Not thread-safe: calls on one instance
 * must not overlap.
 *
 * <pre>{@code
 * try (Backend backend = Backends.open("java", BackendOptions.defaults());
 *      MobaAttention layer = new MobaAttention(MobaConfig.of(512, 3), new HeadLayout(8, 2, 128), backend);
 *      Arena arena = Arena.ofConfined()) {
 *     Sequence doc = layer.openSequence();
 *     Tensor out = layer.forward(doc, q, k, v, arena);   // q [n, 8, 128], k and v [n, 2, 128]
 * }
 * }</pre>
 */
public final class MobaAttention implements AutoCloseable {

    /** The longest sequence: positions stay far from int overflow in every index computation. */
    public static final int MAX_TOKENS = Integer.MAX_VALUE / 2;

    private final MobaConfig config;
    private final HeadLayout layout;
    private final Backend backend;
    private final float scale;
    private final Set<Sequence> open = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Rounded queries and partials of the call in progress; calls do not overlap, so one slab serves them all. */
    private final SlabArena scratch = new SlabArena(1 << 16);

    public MobaAttention(MobaConfig config, HeadLayout layout, Backend backend) {
        this.config = Objects.requireNonNull(config, "config");
        this.layout = Objects.requireNonNull(layout, "layout");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.scale = config.scaleFor(layout.headDim());
    }

    public MobaConfig config() {
        return config;
    }

    public HeadLayout layout() {
        return layout;
    }

    /** Starts an empty sequence. */
    public Sequence openSequence() {
        var spec = new KvSpec(layout.kvHeads(), layout.headDim(), config.blockSize(), config.dtype());
        var cache = backend.openCache(spec);
        var sequence = new Sequence(this, cache, new SummaryTable(layout.kvHeads(), layout.headDim()));
        open.add(sequence);
        return sequence;
    }

    /** Off-heap bytes held by all open sequences. */
    public long bytesReserved() {
        long total = 0;
        for (Sequence s : open) {
            total += s.bytesReserved();
        }
        return total;
    }

    /** {@link #forward(List, Arena)} for one chunk. */
    public Tensor forward(Sequence sequence, Tensor q, Tensor k, Tensor v, Arena arena) {
        return forward(List.of(new Chunk(sequence, q, k, v)), arena).getFirst();
    }

    /**
     * {@link #forward(Sequence, Tensor, Tensor, Tensor, Arena)} into {@code out}, the caller's fp32
     * {@code [n, qHeads, headDim]} tensor, which a model reuses from call to call: nothing is allocated for the
     * output (a fresh tensor costs zeroing its memory, 16 MiB per 4K-token chunk of 8 heads of 128). Where every
     * thread may write {@code out} (its memory is global, automatic or shared) and it holds no query, backends that
     * compute on the host fold their results straight into it, with no copy; after a failure from the backend it
     * may then hold part of them.
     *
     * @throws IllegalArgumentException also for an output of another type or shape, read-only, or confined to
     *                                  another thread; nothing has changed then
     */
    public void forward(Sequence sequence, Tensor q, Tensor k, Tensor v, Tensor out) {
        Objects.requireNonNull(out, "out");
        if (q != null) {  // a missing q is named by the chunk's own checks
            ChunkChecks.requireOutputShape(layout, out, q.tokens(), "");
        }
        if (out.segment().isReadOnly()) {
            throw new IllegalArgumentException("the output tensor is read-only");
        }
        if (!out.segment().isAccessibleBy(Thread.currentThread())) {
            throw new IllegalArgumentException("the output tensor is confined to another thread");
        }
        forwardDetailed(List.of(new Chunk(sequence, q, k, v)), chunk -> out);
    }

    /**
     * Appends each chunk to its sequence and returns the attention output of its queries, fp32
     * {@code [n, qHeads, headDim]}, allocated in {@code arena}. A sequence may appear at most once per call.
     *
     * @throws IllegalArgumentException for a chunk that does not fit its sequence (shapes, non-finite values,
     *                                  a position other than the sequence's length, closed or foreign
     *                                  sequence); nothing has changed then
     * @throws RuntimeException         from the backend; the chunks are then not accepted, every sequence stands
     *                                  where it stood before the call
     */
    public List<Tensor> forward(List<Chunk> chunks, Arena arena) {
        return forwardDetailed(chunks, arena).stream().map(ChunkResult::output).toList();
    }

    /**
     * {@link #forward(List, Arena)} that also returns, per chunk, the log-sum-exp of every query row and the history
     * blocks gating selected for it, for tools that export them. Costs one extra copy of {@code tokens * qHeads}
     * floats per chunk.
     */
    public List<ChunkResult> forwardDetailed(List<Chunk> chunks, Arena arena) {
        Objects.requireNonNull(arena, "arena");
        return forwardDetailed(chunks, chunk -> Tensor.allocate(arena, DType.FP32, chunks.get(chunk).q().tokens(),
                layout.qHeads(), layout.headDim()));
    }

    /** {@link #forwardDetailed(List, Arena)} with chunk {@code i}'s output written to {@code outputs.apply(i)}. */
    private List<ChunkResult> forwardDetailed(List<Chunk> chunks, IntFunction<Tensor> outputs) {
        validate(chunks);
        scratch.reset();
        List<Tensor> queries = new ArrayList<>(chunks.size());
        List<Integer> firstPositions = new ArrayList<>(chunks.size());
        for (Chunk chunk : chunks) {
            queries.add(chunk.q().asStored(config.dtype(), scratch));
            firstPositions.add(chunk.sequence().length());
        }
        try {
            return run(chunks, queries, firstPositions, outputs);
        } catch (RuntimeException | Error e) {
            // The chunks were not accepted: put every sequence back where it stood.
            for (int i = 0; i < chunks.size(); i++) {
                Sequence sequence = chunks.get(i).sequence();
                sequence.cache().truncate(Math.min(firstPositions.get(i), sequence.length()));
                sequence.summaries().truncate(Math.min(firstPositions.get(i) / config.blockSize(),
                        sequence.summaries().blocks()));
            }
            throw e;
        }
    }

    /** Appends, gates, plans and attends the validated chunks. */
    private List<ChunkResult> run(List<Chunk> chunks, List<Tensor> queries, List<Integer> firstPositions,
                                  IntFunction<Tensor> outputs) {
        for (Chunk chunk : chunks) {
            for (SealedBlock block : chunk.sequence().cache().append(chunk.k(), chunk.v())) {
                chunk.sequence().summaries().add(block);
            }
        }
        List<Selection> selections = select(chunks, queries, firstPositions);
        List<Tensor> outs = new ArrayList<>(chunks.size());
        List<AttendPlan> plans = new ArrayList<>(chunks.size());
        for (int i = 0; i < chunks.size(); i++) {
            Sequence sequence = chunks.get(i).sequence();
            var tasks = Planner.plan(selections.get(i), firstPositions.get(i), queries.get(i).tokens(),
                    config.blockSize(), layout);
            Tensor out = outputs.apply(i);
            outs.add(out);
            plans.add(new AttendPlan(sequence.cache(), queries.get(i), firstPositions.get(i), scale, layout,
                    tasks, writableByBackend(out, chunks.get(i).q(), queries.get(i)) ? out : null));
        }
        List<Partials> partials = backend.attend(plans, scratch);
        List<ChunkResult> results = new ArrayList<>(chunks.size());
        for (int i = 0; i < chunks.size(); i++) {
            Partials p = partials.get(i);
            Tensor out = outs.get(i);
            if (!p.output().equals(out.segment())) {
                MemorySegment.copy(p.output(), 0, out.segment(), 0, out.segment().byteSize());
            }
            // Partials may live in memory the next call reuses: the caller gets copies of the log-sum-exps.
            float[] lse = new float[p.rows()];
            for (int r = 0; r < lse.length; r++) {
                lse[r] = p.lse(r);
            }
            results.add(new ChunkResult(out, lse, selections.get(i)));
        }
        return List.copyOf(results);
    }

    /**
     * Whether the backend may fold results straight into {@code out}: its worker threads can write it, and the
     * chunk's queries, which it reads meanwhile, do not lie there ({@code q} as given, {@code stored} as rounded). Only
     * the chunk's own queries need a look: a caller's tensor comes with a single chunk, and a batch's outputs are
     * fresh.
     */
    private static boolean writableByBackend(Tensor out, Tensor q, Tensor stored) {
        return out.isShared() && !out.segment().isReadOnly()
                && out.segment().asOverlappingSlice(q.segment()).isEmpty()
                && out.segment().asOverlappingSlice(stored.segment()).isEmpty();
    }

    /** Closes every open sequence and frees the scratch memory. The backend belongs to the caller and stays open. */
    @Override
    public void close() {
        for (Sequence s : List.copyOf(open)) {
            s.close();
        }
        scratch.close();
    }

    void forget(Sequence sequence) {
        open.remove(sequence);
    }

    /** Gated selections per chunk; {@code null} entries in full mode, where every earlier block is read. */
    private List<Selection> select(List<Chunk> chunks, List<Tensor> queries, List<Integer> firstPositions) {
        List<Selection> selections = new ArrayList<>(Collections.nCopies(chunks.size(), null));
        if (config.mode() == AttentionMode.FULL) {
            return selections;
        }
        List<GateRequest> requests = new ArrayList<>();
        List<Integer> requestIndex = new ArrayList<>();
        for (int i = 0; i < chunks.size(); i++) {
            int tokens = queries.get(i).tokens();
            int chunkPicks = GateRequest.picksFor(config, firstPositions.get(i), tokens);
            if (chunkPicks == 0) {
                selections.set(i, Selection.none(tokens * layout.qHeads()));
                continue;
            }
            requests.add(new GateRequest(queries.get(i), firstPositions.get(i), chunks.get(i).sequence().summaries(),
                    chunkPicks, config.blockSize(), layout));
            requestIndex.add(i);
        }
        if (!requests.isEmpty()) {
            List<Selection> gated = backend.gate(requests);
            for (int r = 0; r < gated.size(); r++) {
                selections.set(requestIndex.get(r), gated.get(r));
            }
        }
        return selections;
    }

    private void validate(List<Chunk> chunks) {
        Objects.requireNonNull(chunks, "chunks");
        Set<Sequence> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < chunks.size(); i++) {
            Chunk chunk = Objects.requireNonNull(chunks.get(i), "chunk " + i);
            String where = chunks.size() == 1 ? "" : " (chunk " + i + ")";
            Sequence sequence = chunk.sequence();
            if (sequence == null || sequence.owner() != this) {
                throw new IllegalArgumentException("sequence does not belong to this layer" + where);
            }
            if (sequence.isClosed()) {
                throw new IllegalArgumentException("sequence is closed" + where);
            }
            if (!seen.add(sequence)) {
                throw new IllegalArgumentException("a sequence appears twice in one batch" + where);
            }
            if (chunk.position() != Chunk.NEXT && chunk.position() != sequence.length()) {
                throw new IllegalArgumentException("chunk starts at position " + chunk.position()
                        + " but the sequence holds " + sequence.length() + " tokens: positions must follow on"
                        + " without gaps or repeats" + where);
            }
            ChunkChecks.requireFits(layout, chunk.q(), chunk.k(), chunk.v(), where);
            if ((long) sequence.length() + chunk.q().tokens() > MAX_TOKENS) {
                throw new IllegalArgumentException("sequence would exceed " + MAX_TOKENS + " tokens" + where);
            }
        }
    }
}
