package io.zsq.runtime;

/**
 * One int8 tensor's affine quantization, {@code real = scale * (q - zeroPoint)} for {@code q} in
 * {@code [qmin, qmax]}, as the integer model stores it. The runtime never computes with the scale (it
 * runs on dyadic multipliers); it carries the scale for callers at the float boundary and for the
 * exporters, as the IEEE-754 single-precision bit pattern {@code scaleBits} (zsq-core converts it with
 * {@code Float.floatToIntBits} / {@code Float.intBitsToFloat}, so the value is exactly the one the
 * lowering used). Validated with integers only: the scale is positive and finite (sign bit 0, not
 * zero, exponent not all ones), {@code -128 <= qmin < qmax <= 127} and {@code qmin <= zeroPoint <= qmax}.
 */
public record TensorQuant(int scaleBits, int zeroPoint, int qmin, int qmax) {
    public TensorQuant {
        // scaleBits > 0: sign bit clear and not +0; the exponent field (bits 23..30) all ones is infinity or NaN
        if (scaleBits <= 0 || (scaleBits >>> 23) >= 0xFF) {
            throw new IllegalArgumentException("scale must be positive and finite, got bit pattern 0x" + Integer.toHexString(scaleBits));
        }
        if (qmin < -128 || qmax > 127 || qmin >= qmax) {
            throw new IllegalArgumentException("need -128 <= qmin < qmax <= 127, got [" + qmin + ", " + qmax + "]");
        }
        if (zeroPoint < qmin || zeroPoint > qmax) {
            throw new IllegalArgumentException("need qmin <= zeroPoint <= qmax, got " + qmin + " <= " + zeroPoint + " <= " + qmax);
        }
    }
}
