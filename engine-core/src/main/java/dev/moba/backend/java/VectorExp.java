package dev.moba.backend.java;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code e^x} of a whole vector in a few inline instructions, for the softmax's exponentials: the library's
 * {@link VectorOperators#EXP} is a call per vector, and a prefill takes hundreds of millions of them.
 *
 * <p>Splits {@code x = n ln 2 + f} with {@code n} an integer and {@code |f| <= ln 2 / 2} (ln 2 in two parts, so that
 * {@code x - n ln 2} loses no bits), takes {@code e^f} from a degree-6 polynomial fitted to relative error 2e-9 on
 * that interval, and adds {@code n} to its exponent bits. Within 1.5 ulp of {@code e^x} for {@code x} in
 * {@code [-86.5, 0.5]}, the range of a softmax's shifted scores; below {@code -86.5}, -infinity included, the result
 * is 0 where {@code e^x} would be a subnormal or less (it weighs nothing next to the row's maximum, whose weight is
 * 1, and subnormal operands slow the products that follow). NaN stays NaN. About 15 vector operations.
 */
final class VectorExp {

    /** Adding {@code 1.5 * 2^23} to a float of magnitude below {@code 2^22} leaves it rounded in the low bits. */
    private static final float ROUNDER = 0x1.8p23f;
    private static final float LOG2E = 0x1.715476p0f;
    /** ln 2 in nine significant bits, so that {@code n * LN2_HIGH} is exact for every {@code |n| < 2^8}. */
    private static final float LN2_HIGH = 0x1.63p-1f;
    private static final float LN2_LOW = -0x1.bd0106p-13f;
    /** Below this, {@code n} would take the exponent under the smallest normal float. */
    private static final float FLUSH_BELOW = -86.5f;
    private static final float C2 = 0x1.fffffcp-2f;
    private static final float C3 = 0x1.55541ap-3f;
    private static final float C4 = 0x1.555822p-5f;
    private static final float C5 = 0x1.126782p-7f;
    private static final float C6 = 0x1.6ae73p-10f;

    private VectorExp() {
    }

    /** {@code e^x} lane by lane, as the class describes. */
    static FloatVector exp(FloatVector x) {
        FloatVector rounded = x.fma(broadcast(LOG2E), broadcast(ROUNDER));
        FloatVector n = rounded.sub(broadcast(ROUNDER));
        FloatVector f = n.fma(broadcast(-LN2_LOW), n.fma(broadcast(-LN2_HIGH), x));
        // In powers of f^2 (Estrin's scheme): three dependent steps where Horner's rule takes six. The exponential
        // is bound by that chain's latency more than by its operation count: the softmax's pass over cached scores
        // took 0.547 ns a score against 0.592 (development machine), for half an ulp more error (1 + f is rounded
        // on its own).
        FloatVector f2 = f.mul(f);
        FloatVector p = broadcast(C6).fma(f2, broadcast(C5).fma(f, broadcast(C4)))
                .fma(f2, broadcast(C3).fma(f, broadcast(C2)))
                .fma(f2, f.add(broadcast(1f)));
        // The low bits of rounded hold n; shifted into the exponent field they scale p by 2^n.
        IntVector scaled = p.reinterpretAsInts()
                .add(rounded.reinterpretAsInts().lanewise(VectorOperators.LSHL, Float.PRECISION - 1));
        return scaled.reinterpretAsFloats().blend(0f, x.lt(FLUSH_BELOW));
    }

    private static FloatVector broadcast(float value) {
        return FloatVector.broadcast(MatMul.SPECIES, value);
    }
}
