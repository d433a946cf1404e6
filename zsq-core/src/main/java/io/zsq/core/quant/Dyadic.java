package io.zsq.core.quant;

/**
 * A real multiplier as a dyadic number {@code m * 2^shift / 2^31}, {@code m} in {@code [2^30, 2^31)}
 * (TFLite's QuantizeMultiplier). Computed at export time only; the runtime sees (m, shift).
 */
public record Dyadic(int multiplier, int shift) {

    public static Dyadic of(double real) {
        if (!(real >= 0) || Double.isInfinite(real)) {
            throw new IllegalArgumentException("multiplier must be finite and >= 0, got " + real);
        }
        if (real == 0) {
            return new Dyadic(0, 0);
        }
        int exp = Math.getExponent(real) + 1; // real = frac * 2^exp, frac in [0.5, 1)
        double frac = real / Math.pow(2, exp);
        long q = Math.round(frac * (1L << 31));
        if (q == (1L << 31)) { // rounding reached 2^31: halve it and carry into the exponent
            q /= 2;
            exp++;
        }
        if (exp < -31) {
            return new Dyadic(0, 0); // below the smallest representable multiplier
        }
        if (exp > 30) {
            throw new IllegalArgumentException("multiplier " + real + " is too large for a 32-bit dyadic number");
        }
        return new Dyadic((int) q, exp);
    }

    public double value() {
        return multiplier * Math.pow(2, shift) / (1L << 31);
    }
}
