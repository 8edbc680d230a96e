package dev.moba.verify;

import dev.moba.tensor.DType;

/**
 * How close a result must be to the reference for each storage dtype: fp32 within 1e-5 (max abs); bf16 and fp16
 * within 2e-2 max abs and 4e-4 mean abs, against the reference computed on inputs rounded to that dtype.
 */
public record Tolerance(double maxAbs, double meanAbs) {

    public static Tolerance of(DType dtype) {
        return dtype == DType.FP32 ? new Tolerance(1e-5, 1e-5) : new Tolerance(2e-2, 4e-4);
    }

    public boolean accepts(double max, double mean) {
        return max <= maxAbs && mean <= meanAbs;
    }
}
