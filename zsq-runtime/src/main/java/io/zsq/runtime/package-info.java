/**
 * The integer-only model format and the pure-Java kernels that run it.
 *
 * <p>Depends on the JDK only. Nothing in this package uses floating point: tensors are int8 (stored
 * in {@code byte}), accumulators int32, biases int32, and every rescaling is a dyadic number, a
 * 32-bit multiplier and a power-of-two shift ({@link io.zsq.runtime.FixedPoint}). Scales are computed
 * with only at export time, in zsq-core; the model carries them as data, IEEE-754 bit patterns in
 * {@link io.zsq.runtime.TensorQuant}, for callers at the float boundary and for the exporters. A test
 * scans these sources for floating-point types.
 */
package io.zsq.runtime;
