package dev.moba.cli;

import picocli.CommandLine.Option;

/**
 * How queries select blocks, for every command that computes MoBA: {@code --block} and {@code --top-k}. Add it with
 * {@code @Mixin SelectionFlags selection;} and call {@link #check()} before using the values.
 */
final class SelectionFlags {

    @Option(names = "--block", paramLabel = "B", defaultValue = "512",
            description = "Block size in tokens (default: ${DEFAULT-VALUE}).")
    private int block;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "3",
            description = "Blocks per query, its own included (default: ${DEFAULT-VALUE}).")
    private int topK;

    /** @throws IllegalArgumentException naming the option and the fix when a value is unusable */
    void check() {
        OptionChecks.requireAtLeast("--block", block, 1, "e.g. --block 512");
        OptionChecks.requireAtLeast("--top-k", topK, 1, "--top-k 1 reads the current block only; e.g. --top-k 3");
    }

    int block() {
        return block;
    }

    int topK() {
        return topK;
    }
}
