/**
 * Level 1, zero-shot post-training quantization: mergeable observers (spec / accumulator / finish),
 * calibration of every quantization point of a canonical graph over (synthetic) batches, and the
 * integer model it lowers to.
 */
package io.zsq.ptq;
