/**
 * FP32 execution of the IR on ND4J: forward (with an optional per-tensor hook, which is how fake
 * quantization is simulated) and reverse mode to the input (for synthetic data generation).
 * Convolutions are im2col + ND4J GEMM; element-wise work is plain Java.
 */
package io.zsq.core.exec;
