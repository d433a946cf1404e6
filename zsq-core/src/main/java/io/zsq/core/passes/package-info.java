/**
 * Passes over a model on its way to an integer model: BN folding, activation fusion, cross-layer
 * equalization, high-bias absorption, bias correction, lowering. Each declares the properties it
 * requires, establishes and forbids ({@link io.zsq.core.ir.Property}), the statistics it needs from the
 * calibration data ({@link io.zsq.core.passes.StatRequest}), and returns a structured report;
 * {@link io.zsq.core.passes.PassRunner} enforces the order.
 */
package io.zsq.core.passes;
