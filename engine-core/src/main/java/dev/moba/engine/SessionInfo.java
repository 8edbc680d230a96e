package dev.moba.engine;

import java.util.List;
import java.util.Optional;

/**
 * What a session reports about itself.
 *
 * @param lengths        tokens accepted per layer
 * @param bytesReserved  off-heap bytes of its KV blocks and summaries
 * @param failures       chunks that failed after validation (backend or budget), each undone
 * @param lastFailure    the message of the most recent one
 */
public record SessionInfo(String id, List<Integer> lengths, long bytesReserved, int failures,
                          Optional<String> lastFailure) {

    public SessionInfo {
        lengths = List.copyOf(lengths);
    }
}
