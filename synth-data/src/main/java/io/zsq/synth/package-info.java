/**
 * Synthetic calibration data: BatchNorm-statistics matching (ZeroQ, Cai et al. CVPR 2020) by Adam on
 * the input with gradients from {@link io.zsq.core.exec.Fp32Engine}, a Gaussian-noise baseline, and
 * the Arrow IPC dataset format (one file per batch, with its seed, settings and final loss per layer).
 */
package io.zsq.synth;
