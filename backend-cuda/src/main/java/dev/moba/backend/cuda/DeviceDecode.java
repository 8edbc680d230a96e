package dev.moba.backend.cuda;

import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.Backend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Decode for a batch of {@link DeviceSequence}s: each {@link #step} appends one token to every sequence (its key
 * and value from device memory), gates its query against the sequence's block means, attends its selected blocks
 * and its own block split into ranges of {@link CudaKernels#DECODE_SPLIT} keys over the whole GPU, and merges into
 * the output in device memory. A step is five launches; the sequences' tables, means and positions stay on the
 * device and are copied again only when a table moves.
 *
 * <p>All sequences share one configuration and head layout. Tensors are {@code [batch][heads][headDim]} in the
 * storage type; row {@code b} belongs to sequence {@code b}.
 */
public final class DeviceDecode implements AutoCloseable {

    private final CudaBackend backend;
    private final List<DeviceSequence> sequences;
    private final MobaConfig config;
    private final HeadLayout layout;
    private long state;

    /** A decode batch of {@code sequences}, opened on {@code backend} (the CUDA backend) and prefilled. */
    public DeviceDecode(Backend backend, List<DeviceSequence> sequences) {
        this(CudaBackend.of(backend), sequences);
    }

    DeviceDecode(CudaBackend backend, List<DeviceSequence> sequences) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("a decode batch needs at least one sequence");
        }
        this.backend = backend;
        this.sequences = List.copyOf(sequences);
        this.config = sequences.getFirst().config();
        this.layout = sequences.getFirst().layout();
        int capacity = sequences.getFirst().capacity();
        if (capacity > CudaKernels.MAX_DECODE_CANDIDATES) {
            throw new IllegalArgumentException("decode gates at most " + CudaKernels.MAX_DECODE_CANDIDATES
                    + " blocks per sequence; these sequences hold up to " + capacity);
        }
        for (DeviceSequence sequence : sequences) {
            if (!sequence.config().equals(config) || !sequence.layout().equals(layout)
                    || sequence.capacity() != capacity) {
                throw new IllegalArgumentException("the sequences of a decode batch must share configuration, head "
                        + "layout and capacity");
            }
        }
    }

    /** Appends and attends one token per sequence, asynchronously on the default stream. */
    public void step(long q, long k, long v, long out) {
        backend.device().execute(() -> {
            int batch = sequences.size();
            int blockSize = config.blockSize();
            int picks = config.historyPicks();
            int splits = (blockSize + CudaKernels.DECODE_SPLIT - 1) / CudaKernels.DECODE_SPLIT;
            int rows = batch * layout.qHeads();
            int partials = (picks + 1) * splits;
            boolean moved = false;
            for (int b = 0; b < batch; b++) {
                DeviceSequence sequence = sequences.get(b);
                CudaKvCache cache = sequence.cache();
                if (cache.length() >= sequence.maxTokens()) {
                    throw new IllegalStateException("sequence " + b + " is full at " + sequence.maxTokens() + " tokens");
                }
                long table = cache.table();
                cache.reserve(1);
                moved |= cache.table() != table || state == 0;
            }
            if (moved) {
                publishState();
            }
            long tables = state;
            long means = state + (long) batch * Long.BYTES;
            long positions = state + 2L * batch * Long.BYTES;
            long[] at = backend.scratch().regions((long) rows * Math.max(1, picks) * Integer.BYTES,
                    (long) rows * partials * layout.headDim() * Float.BYTES, (long) rows * partials * Float.BYTES);
            CudaKernels kernels = backend.kernels();
            kernels.decodeAppend(k, v, tables, positions, batch, blockSize,
                    layout.kvHeads() * layout.headDim() * config.dtype().bytes());
            if (picks > 0) {
                kernels.gateDecode(q, config.dtype(), batch, layout.qHeads(), layout.groupSize(), layout.headDim(),
                        positions, blockSize, means, sequences.getFirst().capacity(), picks, at[0]);
            }
            kernels.decodeAttend(q, sequences.getFirst().cache().spec(), layout.qHeads(), batch, tables, positions,
                    at[0], picks, splits, config.scaleFor(layout.headDim()), at[1], at[2]);
            kernels.merge(at[1], at[2], rows, partials, layout.headDim(), out, config.dtype(), 0L);
            kernels.decodeAdvance(positions, batch);
            for (DeviceSequence sequence : sequences) {
                CudaKvCache cache = sequence.cache();
                cache.advance(1);
                if (cache.length() % blockSize == 0) {
                    int sealed = cache.length() / blockSize;
                    kernels.means(cache.table(), sealed - 1, sealed, cache.spec(), sequence.means(),
                            sequence.capacity());
                }
            }
        });
    }

    /** Frees the batch's device state; the sequences stay open. */
    @Override
    public void close() {
        if (state != 0) {
            backend.device().execute(() -> backend.device().free(state));
            state = 0;
        }
    }

    /**
     * Uploads the block tables, means and positions of every sequence: at the first step, and when a sequence's
     * table moved because it grew (once per many blocks). Between uploads the positions move on the device.
     */
    private void publishState() {
        int batch = sequences.size();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(batch * (2L * Long.BYTES + Integer.BYTES), 16);
            for (int b = 0; b < batch; b++) {
                DeviceSequence sequence = sequences.get(b);
                host.setAtIndex(ValueLayout.JAVA_LONG, b, sequence.cache().table());
                host.setAtIndex(ValueLayout.JAVA_LONG, batch + b, sequence.means());
                host.setAtIndex(ValueLayout.JAVA_INT, 4L * batch + b, sequence.cache().length());
            }
            if (state == 0) {
                state = backend.device().allocate(host.byteSize());
            }
            backend.device().upload(host, state);
        }
    }
}
