package dev.moba.verify;

import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;

/** A way through the engine that a reference case can be run along. */
public interface CasePath {

    /** Runs {@code c} and returns the engine's output, fp32 {@code [tokens, qHeads, headDim]} in {@code arena}. */
    Tensor output(GoldenCase c, Arena arena);

    /** Says how the path feeds the case, for reports. */
    String describe();
}
