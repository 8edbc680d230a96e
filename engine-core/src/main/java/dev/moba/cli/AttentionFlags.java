package dev.moba.cli;

import dev.moba.config.HeadLayout;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The attention shape of a command that makes up its own data ({@code demo}, {@code bench}): {@code --heads},
 * {@code --kv-heads}, {@code --head-dim} and the {@link SelectionFlags}. Add it with
 * {@code @Mixin AttentionFlags attention;} and call {@link #check()} before using the values.
 */
final class AttentionFlags {

    @Option(names = "--heads", defaultValue = "8", description = "Query heads (default: ${DEFAULT-VALUE}).")
    private int heads;

    @Option(names = "--kv-heads", defaultValue = "2",
            description = "Key/value heads; --heads must be a multiple (default: ${DEFAULT-VALUE}).")
    private int kvHeads;

    @Option(names = "--head-dim", defaultValue = "128", description = "Head dimension (default: ${DEFAULT-VALUE}).")
    private int headDim;

    @Mixin
    private SelectionFlags selection;

    /** @throws IllegalArgumentException naming the option and the fix when a value is unusable */
    void check() {
        OptionChecks.requireAtLeast("--heads", heads, 1, "e.g. --heads 8");
        OptionChecks.requireAtLeast("--kv-heads", kvHeads, 1, "e.g. --kv-heads 2");
        OptionChecks.requireAtLeast("--head-dim", headDim, 1, "e.g. --head-dim 128");
        selection.check();
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("--heads " + heads + " is not a multiple of --kv-heads " + kvHeads
                    + ": each kv head serves an equal group of query heads; pick --heads as a multiple of --kv-heads");
        }
    }

    /** The heads and head dimension; after {@link #check()}. */
    HeadLayout layout() {
        return new HeadLayout(heads, kvHeads, headDim);
    }

    int block() {
        return selection.block();
    }

    int topK() {
        return selection.topK();
    }
}
