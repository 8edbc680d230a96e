package dev.moba.spi;

import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.merge.Partials;
import dev.moba.plan.AttendPlan;
import java.lang.foreign.Arena;
import java.util.List;

/**
 * Executes MoBA's two heavy steps, gating and block attention, and owns the KV storage they read.
 *
 * <p>Calls carry a whole batch (one entry per sequence) so that a backend can amortise launches and keep data where
 * its kernels want it. A backend is safe for use by several threads at once, but one {@link KvCache} must not be
 * appended to while a call that reads it runs.
 */
public interface Backend extends AutoCloseable {

    /** The provider id this backend was created by. */
    String id();

    /** Opens empty KV storage for one sequence of one layer. */
    KvCache openCache(KvSpec spec);

    /**
     * Selects, for every query row of every request, the best history blocks by gate score
     * (see {@link GateRequest}). Returns one selection per request, in order.
     */
    List<Selection> gate(List<GateRequest> requests);

    /**
     * Runs every plan and returns, per plan, the attention output and log-sum-exp of each query row over the
     * blocks the plan lists. Partials are allocated in {@code arena}, from the calling thread: the engine passes
     * reusable scratch arenas that are not safe for concurrent allocation (the memory itself may be written by any
     * thread).
     */
    List<Partials> attend(List<AttendPlan> plans, Arena arena);

    /** Frees the backend's own resources; caches it opened must be closed by their owners first. */
    @Override
    void close();
}
