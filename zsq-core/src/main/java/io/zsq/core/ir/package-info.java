/**
 * The graph IR every importer produces and every pass and exporter consumes: a {@link io.zsq.core.ir.Graph}
 * of {@link io.zsq.core.ir.Node}s in a deterministic topological order, with named tensors and
 * FP32 constants. Layout is NCHW; shapes are per image ({@code [C, H, W]} or {@code [F]}).
 */
package io.zsq.core.ir;
