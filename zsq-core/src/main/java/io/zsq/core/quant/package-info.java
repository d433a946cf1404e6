/**
 * Quantization values: the one function that turns a range into (scale, zero point), per-channel
 * weight parameters, dyadic multipliers, and fake quantization (quantize-dequantize) for simulation.
 */
package io.zsq.core.quant;
