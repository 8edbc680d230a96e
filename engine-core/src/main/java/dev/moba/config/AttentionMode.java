package dev.moba.config;

import java.util.Locale;

/** How a layer chooses the keys each query attends. */
public enum AttentionMode {
    /** Top-k block selection: the current block plus the {@code topK - 1} best-scoring earlier blocks. */
    MOBA,
    /** Dense causal attention: every earlier block is selected (top-k of infinity). */
    FULL;

    /** Parses {@code moba} or {@code full}, case-insensitively. */
    public static AttentionMode parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "moba" -> MOBA;
            case "full" -> FULL;
            default -> throw new IllegalArgumentException("mode must be 'moba' or 'full', got '" + text + "'");
        };
    }
}
