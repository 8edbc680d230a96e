package dev.moba.spi;

import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.List;

/**
 * The keys and values of one sequence of one layer, stored in blocks by a backend. A block becomes sealed when it
 * holds {@code blockSize} tokens; its mean key (fp32, computed from the stored values) is then frozen.
 */
public interface KvCache extends AutoCloseable {

    KvSpec spec();

    /** Tokens stored. */
    int length();

    /**
     * Appends the keys and values of the next {@code k.tokens()} positions. Both tensors are
     * {@code [n, kvHeads, headDim]} in any dtype and are stored rounded to the spec's dtype. Either every token is
     * appended or, when this throws, none is.
     *
     * @return the blocks this append sealed, in order
     */
    List<SealedBlock> append(Tensor k, Tensor v);

    /**
     * Forgets every position at or after {@code length}, so the cache is as it was when it held {@code length}
     * tokens: the engine undoes an append this way when the rest of its chunk's work fails. A block this reopens
     * gets its running key sum back; its mean is computed afresh when it fills again.
     *
     * @throws IllegalArgumentException unless {@code 0 <= length <= length()}
     */
    void truncate(int length);

    /** Copies the stored keys of positions {@code [from, to)} out as fp32, for tests and tools. */
    Tensor readKeys(Arena arena, int from, int to);

    /** Copies the stored values of positions {@code [from, to)} out as fp32, for tests and tools. */
    Tensor readValues(Arena arena, int from, int to);

    /**
     * Bytes of memory that appending {@code tokens} more positions would add to {@link #bytesReserved()}: the
     * engine checks its memory budget with this before it appends.
     */
    long bytesToAppend(int tokens);

    /** Bytes of memory this cache holds. */
    long bytesReserved();

    /** Frees the storage; the cache cannot be used afterwards. */
    @Override
    void close();
}
