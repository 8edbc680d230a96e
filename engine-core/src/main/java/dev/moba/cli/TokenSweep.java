package dev.moba.cli;

import java.util.HashSet;
import java.util.List;

/**
 * The sequence lengths of {@code moba bench --sweep}, in increasing order (the order given does not matter).
 *
 * @param lengths token counts, each at least 1, no two equal
 */
record TokenSweep(List<Integer> lengths) {

    private static final String EXAMPLE = "; give comma-separated token counts such as 8192,32768,131072";

    TokenSweep {
        if (lengths.isEmpty()) throw new IllegalArgumentException("no length" + EXAMPLE);
        for (int tokens : lengths) {
            if (tokens < 1) throw new IllegalArgumentException("a length must be >= 1 token, got " + tokens + EXAMPLE);
        }
        if (new HashSet<>(lengths).size() < lengths.size()) {
            throw new IllegalArgumentException("a length is listed twice in " + lengths + "; give each length once");
        }
        lengths = lengths.stream().sorted().toList();
    }

    /**
     * Parses {@code 8192,32768,131072}.
     *
     * @throws IllegalArgumentException naming the part that is not a usable length
     */
    static TokenSweep parse(String text) {
        return new TokenSweep(List.of(text.split(",", -1)).stream().map(TokenSweep::length).toList());
    }

    private static int length(String part) {
        try {
            return Integer.parseInt(part.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + part + "' is not a whole number of tokens" + EXAMPLE, e);
        }
    }
}
