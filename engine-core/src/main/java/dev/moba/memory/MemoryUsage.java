package dev.moba.memory;

import java.util.Map;

/**
 * Off-heap memory an engine holds: KV blocks and block summaries, in bytes.
 *
 * @param used      every session together
 * @param peak      the most every session together held at once since the engine started
 * @param budget    the configured limit ({@code moba.memory.budget})
 * @param bySession per open session id
 */
public record MemoryUsage(long used, long peak, long budget, Map<String, Long> bySession) {

    public MemoryUsage {
        bySession = Map.copyOf(bySession);
    }
}
