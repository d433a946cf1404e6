/**
 * The integer-only model format and the pure-Java kernels that run it.
 *
 * <p>Depends on the JDK only. Nothing in this package uses floating point: tensors are int8 (stored
 * in {@code byte}), accumulators int32, biases int32, and every rescaling is a dyadic number, a
 * 32-bit multiplier and a power-of-two shift ({@link io.zsq.runtime.FixedPoint}). Scales exist only
 * at export time, in zsq-core; a test scans these sources for floating-point types.
 */
package io.zsq.runtime;
