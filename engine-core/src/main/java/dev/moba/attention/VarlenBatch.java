package dev.moba.attention;

import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Runs a packed varlen batch through one layer: sequence {@code s} is tokens {@code [cuSeqlens[s], cuSeqlens[s+1])}
 * of q, k and v, and sequences never see each other.
 *
 * <p>One-shot ({@code chunk == 0}) feeds every sequence whole, as one call. Chunked feeds the sequences side by side,
 * each call holding the next {@code chunk} tokens of every sequence that has any left; outputs do not depend on the
 * chunking. Results go to a {@link Sink} chunk by chunk, so a caller can write them out (to a mapped file, say)
 * without holding them all; each result's memory is freed once its call's results were handed over. Memory beyond
 * the layer's KV blocks is that of one call's outputs.
 *
 * <pre>{@code
 * try (MobaAttention layer = new MobaAttention(config, layout, backend)) {
 *     VarlenBatch.run(layer, new int[] {0, 300, 1000}, q, k, v, 0,
 *             (from, position, result) -> copy(result.output(), from));
 * }
 * }</pre>
 */
public final class VarlenBatch {

    /** Receives the result of one chunk. */
    @FunctionalInterface
    public interface Sink {
        /**
         * @param from     packed token index of the chunk's first token
         * @param position the first token's position in its sequence
         * @param result   valid during this call only
         */
        void accept(int from, int position, ChunkResult result);
    }

    private VarlenBatch() {}

    /**
     * Opens one sequence of {@code layer} per entry of {@code cuSeqlens}, feeds them and closes them.
     *
     * @param cuSeqlens sequence boundaries: starts at 0, increases strictly, ends at {@code q.tokens()}
     * @param chunk     tokens per call and sequence, 0 for whole sequences
     * @throws IllegalArgumentException for boundaries that do not fit q, or a chunk the layer refuses (shapes,
     *                                  non-finite values); results handed over before stay valid
     */
    public static void run(MobaAttention layer, int[] cuSeqlens, Tensor q, Tensor k, Tensor v, int chunk, Sink sink) {
        Objects.requireNonNull(sink, "sink");
        requireBoundaries(cuSeqlens, q.tokens());
        if (chunk < 0) {
            throw new IllegalArgumentException("chunk must be >= 0 (0 = whole sequences), got " + chunk);
        }
        int sequences = cuSeqlens.length - 1;
        int longest = 0;
        for (int s = 0; s < sequences; s++) {
            longest = Math.max(longest, cuSeqlens[s + 1] - cuSeqlens[s]);
        }
        int step = chunk == 0 ? longest : chunk;
        List<Sequence> open = new ArrayList<>(sequences);
        try {
            for (int s = 0; s < sequences; s++) {
                open.add(layer.openSequence());
            }
            for (int offset = 0; offset < longest; offset += step) {
                List<Chunk> batch = new ArrayList<>();
                List<Integer> starts = new ArrayList<>();
                for (int s = 0; s < sequences; s++) {
                    int from = cuSeqlens[s] + offset;
                    int to = (int) Math.min(cuSeqlens[s + 1], (long) from + step);
                    if (from < to) {
                        batch.add(new Chunk(open.get(s), offset, q.slice(from, to), k.slice(from, to),
                                v.slice(from, to)));
                        starts.add(from);
                    }
                }
                try (Arena call = Arena.ofConfined()) {
                    List<ChunkResult> results = layer.forwardDetailed(batch, call);
                    for (int i = 0; i < results.size(); i++) {
                        sink.accept(starts.get(i), offset, results.get(i));
                    }
                }
            }
        } finally {
            open.forEach(Sequence::close);
        }
    }

    /**
     * Throws {@link IllegalArgumentException} naming the problem unless {@code cuSeqlens} starts at 0, increases
     * strictly (no empty sequence) and ends at {@code tokens}.
     */
    public static void requireBoundaries(int[] cuSeqlens, int tokens) {
        Objects.requireNonNull(cuSeqlens, "cuSeqlens");
        if (cuSeqlens.length < 2) {
            throw new IllegalArgumentException("cu_seqlens must hold at least two boundaries, got "
                    + Arrays.toString(cuSeqlens));
        }
        if (cuSeqlens[0] != 0) {
            throw new IllegalArgumentException("cu_seqlens must start at 0, got " + cuSeqlens[0]);
        }
        for (int i = 1; i < cuSeqlens.length; i++) {
            if (cuSeqlens[i] <= cuSeqlens[i - 1]) {
                throw new IllegalArgumentException("cu_seqlens must increase strictly, got " + cuSeqlens[i - 1]
                        + " then " + cuSeqlens[i] + " at index " + i);
            }
        }
        if (cuSeqlens[cuSeqlens.length - 1] != tokens) {
            throw new IllegalArgumentException("cu_seqlens must end at the number of tokens, " + tokens + ", got "
                    + cuSeqlens[cuSeqlens.length - 1]);
        }
    }
}
