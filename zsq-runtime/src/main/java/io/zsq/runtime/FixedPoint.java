package io.zsq.runtime;

/**
 * Fixed-point primitives of integer-only inference, with the rounding rule in each name (the
 * semantics of gemmlowp and TFLite). A real multiplier {@code M} is carried as {@code M0 * 2^shift}
 * with {@code M0} an int32 mantissa in {@code [2^30, 2^31)} read as Q0.31.
 */
public final class FixedPoint {
    private FixedPoint() {}

    /**
     * {@code round(a * b / 2^31)} with gemmlowp's nudge (ties round toward positive infinity), saturating the single overflow case
     * {@code a == b == Integer.MIN_VALUE} to {@code Integer.MAX_VALUE}.
     */
    public static int saturatingRoundingDoublingHighMul(int a, int b) {
        if (a == Integer.MIN_VALUE && b == Integer.MIN_VALUE) {
            return Integer.MAX_VALUE;
        }
        long ab = (long) a * (long) b;
        long nudge = ab >= 0 ? (1L << 30) : (1L - (1L << 30));
        return (int) ((ab + nudge) / (1L << 31)); // Java long division truncates toward zero, as C++ does
    }

    /** {@code round(x / 2^exponent)}, rounding half away from zero; {@code 0 <= exponent <= 31}. */
    public static int roundingDivideByPowerOfTwo(int x, int exponent) {
        if (exponent < 0 || exponent > 31) {
            throw new IllegalArgumentException("exponent out of [0, 31]: " + exponent);
        }
        if (exponent == 0) {
            return x;
        }
        int mask = (int) ((1L << exponent) - 1);
        int remainder = x & mask;
        int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
        return (x >> exponent) + (remainder > threshold ? 1 : 0);
    }

    /**
     * {@code x * multiplier * 2^shift / 2^31}, TFLite's MultiplyByQuantizedMultiplier: a positive
     * shift is applied as a left shift before the high multiply, a negative one as a rounding right
     * shift after it. {@code -31 <= shift <= 30}.
     */
    public static int multiplyByQuantizedMultiplier(int x, int multiplier, int shift) {
        int left = shift > 0 ? shift : 0;
        int right = shift > 0 ? 0 : -shift;
        return roundingDivideByPowerOfTwo(saturatingRoundingDoublingHighMul(x * (1 << left), multiplier), right);
    }

    /** Clamps to {@code [lo, hi]}. */
    public static int clamp(int v, int lo, int hi) {
        return v < lo ? lo : (v > hi ? hi : v);
    }
}
