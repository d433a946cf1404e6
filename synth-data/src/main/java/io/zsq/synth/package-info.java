/**
 * Synthetic calibration data: BatchNorm-statistics matching (ZeroQ, Cai et al. CVPR 2020) by Adam on
 * the input with gradients from {@link io.zsq.core.exec.Fp32Engine}, a Gaussian-noise baseline, and
 * the dataset format: one Arrow IPC file per batch ({@link io.zsq.synth.ArrowDataset}, with its seed,
 * settings and final loss per layer), every setting that decides the images as a
 * {@link io.zsq.synth.DatasetSpec}, and a {@link io.zsq.synth.DatasetManifest manifest.json} (the spec and
 * each file's SHA-256) written last, which resume and {@code --calib} check.
 */
package io.zsq.synth;
