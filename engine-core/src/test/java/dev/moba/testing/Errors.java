package dev.moba.testing;

/** Element-wise error measures between an actual and an expected array of the same length. */
public final class Errors {

    private Errors() {}

    /** Largest absolute difference; NaN if any element is NaN. */
    public static double maxAbs(float[] actual, float[] expected) {
        requireSameLength(actual, expected);
        double max = 0;
        for (int i = 0; i < actual.length; i++) {
            double diff = Math.abs((double) actual[i] - expected[i]);
            if (Double.isNaN(diff) || diff > max) {
                max = diff;
            }
        }
        return max;
    }

    /** Mean absolute difference. */
    public static double meanAbs(float[] actual, float[] expected) {
        requireSameLength(actual, expected);
        double sum = 0;
        for (int i = 0; i < actual.length; i++) {
            sum += Math.abs((double) actual[i] - expected[i]);
        }
        return actual.length == 0 ? 0 : sum / actual.length;
    }

    private static void requireSameLength(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new IllegalArgumentException("lengths differ: " + actual.length + " vs " + expected.length);
        }
    }
}
