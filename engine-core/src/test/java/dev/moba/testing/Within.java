package dev.moba.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.tensor.DType;
import dev.moba.verify.Tolerance;

/** Assertions that a result is within the contract's tolerance of a reference (see {@link Tolerance}). */
public final class Within {

    private Within() {}

    /** Within the tolerance of storage type {@code dtype}: fp32 1e-5 max abs; 16-bit types 2e-2 max, 4e-4 mean. */
    public static void tolerance(DType dtype, float[] actual, float[] expected) {
        Tolerance tolerance = Tolerance.of(dtype);
        assertThat(Errors.maxAbs(actual, expected)).as("max abs difference").isLessThanOrEqualTo(tolerance.maxAbs());
        assertThat(Errors.meanAbs(actual, expected)).as("mean abs difference").isLessThanOrEqualTo(tolerance.meanAbs());
    }

    /**
     * Within the bounds of 16-bit storage, for kernels that round the probabilities to a 16-bit type too, so they
     * differ from an fp32 computation on the same rounded inputs by more than fp32 rounding.
     */
    public static void sixteenBitBounds(float[] actual, float[] expected) {
        tolerance(DType.BF16, actual, expected);
    }
}
