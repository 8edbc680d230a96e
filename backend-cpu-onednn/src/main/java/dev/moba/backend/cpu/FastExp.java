package dev.moba.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code exp(x)} for the softmax's arguments ({@code x <= 0}), on whole vectors: {@code x = n ln2 + r} with
 * {@code |r| <= ln2 / 2}, {@code exp(r)} by a degree-6 Taylor polynomial (relative error below 2e-7), times
 * {@code 2^n} built in the exponent bits. Arguments below -87 give {@code exp(-87)}, about 1.6e-38, which no softmax
 * sum notices. A few multiply-adds per lane instead of a library call per vector.
 */
final class FastExp {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private static final float LOWEST = -87f;
    private static final float LOG2E = 1.44269504f;
    private static final float ROUNDER = 12582912f;
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    private static final float[] TAYLOR = {1f / 720, 1f / 120, 1f / 24, 1f / 6, 1f / 2, 1f, 1f};

    private FastExp() {}

    /** {@code exp(x)} lane by lane, for {@code x <= 0}. */
    static FloatVector exp(FloatVector x) {
        FloatVector clamped = x.max(LOWEST);
        // Adding then subtracting 1.5 * 2^23 rounds to the nearest integer in the fp32 adder.
        FloatVector n = clamped.mul(LOG2E).add(ROUNDER).sub(ROUNDER);
        FloatVector r = n.mul(-LN2_HI).add(clamped);
        r = n.mul(-LN2_LO).add(r);
        FloatVector p = FloatVector.broadcast(SPECIES, TAYLOR[0]);
        for (int i = 1; i < TAYLOR.length; i++) {
            p = p.fma(r, FloatVector.broadcast(SPECIES, TAYLOR[i]));
        }
        IntVector exponent = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(exponent.reinterpretAsFloats());
    }
}
