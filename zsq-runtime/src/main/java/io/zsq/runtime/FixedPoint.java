package io.zsq.runtime;

/**
 * Fixed-point primitives of integer-only inference. A real multiplier {@code M} is carried as
 * {@code M0 * 2^shift} with {@code M0} an int32 mantissa in {@code [2^30, 2^31)} read as Q0.31.
 * Every rounding in the runtime is to nearest with ties toward positive infinity, {@code floor(v + 1/2)},
 * which is also what the FP32 fake-quantized simulation does ({@code Math.round}).
 */
public final class FixedPoint {
    private FixedPoint() {}

    /**
     * {@code round(x * multiplier * 2^shift / 2^31)} with a single rounding, ties toward positive
     * infinity (TFLite's {@code TFLITE_SINGLE_ROUNDING} path), saturated to int32;
     * {@code -31 <= shift <= 30}. The exact 62-bit product is shifted once: gemmlowp's two-step
     * form (a rounding high multiply, then a rounding right shift) rounds twice, which for the small
     * accumulators of 4-bit grids is off by one level (e.g. {@code 20 * 0.219 = 4.38}: 17.53 -> 18,
     * then 18 / 4 = 4.5 -> 5).
     */
    public static int multiplyByQuantizedMultiplier(int x, int multiplier, int shift) {
        if (shift < -31 || shift > 30) {
            throw new IllegalArgumentException("shift out of [-31, 30]: " + shift);
        }
        int total = 31 - shift; // 1..62
        long p = (long) x * multiplier; // |p| <= 2^62
        long r = (p + (1L << (total - 1))) >> total; // arithmetic shift = floor, so ties go up
        return r > Integer.MAX_VALUE ? Integer.MAX_VALUE : (r < Integer.MIN_VALUE ? Integer.MIN_VALUE : (int) r);
    }

    /** Clamps to {@code [lo, hi]}. */
    public static int clamp(int v, int lo, int hi) {
        return v < lo ? lo : (v > hi ? hi : v);
    }

    /** Clamps to {@code [lo, hi]}; for {@code zeroPoint + requantized} sums, which may leave the int range. */
    public static int clamp(long v, int lo, int hi) {
        return v < lo ? lo : (v > hi ? hi : (int) v);
    }
}
