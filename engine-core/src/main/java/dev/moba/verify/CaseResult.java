package dev.moba.verify;

/**
 * The outcome of one reference case.
 *
 * @param elements output elements compared
 * @param maxAbs   largest absolute difference from the expected output
 * @param sumAbs   sum of absolute differences (for means over several cases)
 */
public record CaseResult(String name, long elements, double maxAbs, double sumAbs, boolean pass) {

    public double meanAbs() {
        return elements == 0 ? 0 : sumAbs / elements;
    }
}
