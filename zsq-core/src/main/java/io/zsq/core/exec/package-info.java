/**
 * FP32 execution of the IR: forward (with an optional per-tensor hook, which is how fake quantization
 * is simulated) and reverse mode to the input (for synthetic data generation). Each op's forward and
 * input gradients are one {@link io.zsq.core.exec.Kernel} registered in {@link io.zsq.core.exec.Kernels};
 * {@link io.zsq.core.exec.Fp32Engine} walks the graph. Convolutions run on JDK Vector API register-tiled
 * kernels ({@code VectorConv}) over NHWC, with scalar definitions they are tested against; a
 * {@link io.zsq.core.exec.Workspace} lets an optimization loop reuse its arrays from step to step.
 */
package io.zsq.core.exec;
