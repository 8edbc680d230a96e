package dev.moba.backend.cuda;

import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Decode for a batch of {@link DeviceSequence}s: each {@link #step} appends one token to every sequence (its key
 * and value from device memory), gates its query against the sequence's block means, attends its selected blocks
 * and its own block split into ranges of {@link CudaKernels#DECODE_SPLIT} keys over the whole GPU, and merges into
 * the output in device memory. A step is five launches and one small copy of the sequences' positions and tables.
 *
 * <p>All sequences share one configuration and head layout. Tensors are {@code [batch][heads][headDim]} in the
 * storage type; row {@code b} belongs to sequence {@code b}.
 */
final class DeviceDecode {

    private final CudaBackend backend;
    private final List<DeviceSequence> sequences;
    private final MobaConfig config;
    private final HeadLayout layout;

    DeviceDecode(CudaBackend backend, List<DeviceSequence> sequences) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("a decode batch needs at least one sequence");
        }
        this.backend = backend;
        this.sequences = List.copyOf(sequences);
        this.config = sequences.getFirst().config();
        this.layout = sequences.getFirst().layout();
        int capacity = sequences.getFirst().capacity();
        for (DeviceSequence sequence : sequences) {
            if (!sequence.config().equals(config) || !sequence.layout().equals(layout)
                    || sequence.capacity() != capacity) {
                throw new IllegalArgumentException("the sequences of a decode batch must share configuration, head "
                        + "layout and capacity");
            }
        }
    }

    /** Appends and attends one token per sequence, asynchronously on the default stream. */
    void step(long q, long k, long v, long out) {
        backend.device().execute(() -> {
            int batch = sequences.size();
            int blockSize = config.blockSize();
            int picks = config.historyPicks();
            int splits = (blockSize + CudaKernels.DECODE_SPLIT - 1) / CudaKernels.DECODE_SPLIT;
            int rows = batch * layout.qHeads();
            int partials = (picks + 1) * splits;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = arena.allocate(batch * (2L * Long.BYTES + Integer.BYTES), 16);
                for (int b = 0; b < batch; b++) {
                    DeviceSequence sequence = sequences.get(b);
                    CudaKvCache cache = sequence.cache();
                    if (cache.length() >= sequence.maxTokens()) {
                        throw new IllegalStateException("sequence " + b + " is full at " + sequence.maxTokens()
                                + " tokens");
                    }
                    cache.reserve(1);
                    state.setAtIndex(ValueLayout.JAVA_LONG, b, cache.table());
                    state.setAtIndex(ValueLayout.JAVA_LONG, batch + b, sequence.means());
                    state.setAtIndex(ValueLayout.JAVA_INT, 4L * batch + b, cache.length());
                }
                long[] at = backend.scratch().regions(state.byteSize(), (long) rows * Math.max(1, picks) * Integer.BYTES,
                        (long) rows * partials * layout.headDim() * Float.BYTES, (long) rows * partials * Float.BYTES);
                long tables = at[0];
                long means = at[0] + (long) batch * Long.BYTES;
                long positions = at[0] + 2L * batch * Long.BYTES;
                backend.device().upload(state, at[0]);
                CudaKernels kernels = backend.kernels();
                kernels.decodeAppend(k, v, tables, positions, batch, blockSize,
                        layout.kvHeads() * layout.headDim() * config.dtype().bytes());
                if (picks > 0) {
                    kernels.gateDecode(q, config.dtype(), batch, layout.qHeads(), layout.groupSize(), layout.headDim(),
                            positions, blockSize, means, sequences.getFirst().capacity(), picks, at[1]);
                }
                kernels.decodeAttend(q, sequences.getFirst().cache().spec(), layout.qHeads(), batch, tables, positions,
                        at[1], picks, splits, config.scaleFor(layout.headDim()), at[2], at[3]);
                kernels.merge(at[2], at[3], rows, partials, layout.headDim(), out, config.dtype(), 0L);
                for (DeviceSequence sequence : sequences) {
                    CudaKvCache cache = sequence.cache();
                    cache.advance(1);
                    if (cache.length() % blockSize == 0) {
                        int sealed = cache.length() / blockSize;
                        kernels.means(cache.table(), sealed - 1, sealed, cache.spec(), sequence.means(),
                                sequence.capacity());
                    }
                }
            }
        });
    }
}
