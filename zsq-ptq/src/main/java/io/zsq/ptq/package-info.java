/**
 * Level 1, zero-shot post-training quantization: mergeable observers (spec / accumulator / finish),
 * calibration of every quantization point of a canonical graph over (synthetic) batches, BatchNorm-statistics
 * ranges, mixed precision; the pipeline that runs it all is in {@link io.zsq.ptq.pipeline}.
 */
package io.zsq.ptq;
