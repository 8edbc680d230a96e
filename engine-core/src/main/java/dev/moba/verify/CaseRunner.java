package dev.moba.verify;

import dev.moba.tensor.DType;
import dev.moba.tensor.Tensor;
import java.lang.foreign.Arena;

/** Runs reference cases along a {@link CasePath} and compares their outputs with the expected ones. */
public final class CaseRunner {

    private final CasePath path;
    private final DType dtype;

    /** @param dtype the storage type the path runs in, which picks the expected output and tolerance */
    public CaseRunner(CasePath path, DType dtype) {
        this.path = path;
        this.dtype = dtype;
    }

    /** Runs {@code c} and compares with its expected output under the dtype's {@link Tolerance}. */
    public CaseResult run(GoldenCase c) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor out = path.output(c, arena);
            float[] actual = out.toFloatArray();
            float[] expected = c.expected().toFloatArray();
            double max = 0;
            double sum = 0;
            for (int i = 0; i < actual.length; i++) {
                double diff = Math.abs((double) actual[i] - expected[i]);
                if (Double.isNaN(diff) || diff > max) max = diff; // once NaN, max stays NaN
                sum += diff;
            }
            boolean pass = Tolerance.of(dtype).accepts(max, sum / Math.max(1, actual.length));
            return new CaseResult(c.name(), actual.length, max, sum, pass);
        }
    }
}
