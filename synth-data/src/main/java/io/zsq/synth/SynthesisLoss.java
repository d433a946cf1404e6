package io.zsq.synth;

import io.zsq.core.ir.Graph;

/**
 * The synthesis objective and its gradient to the images, on one engine: {@link BnMatchingLoss} (zsq's
 * Vector API engine) or {@link OrtBnMatchingLoss} (ONNX Runtime, CPU or GPU). One instance serves one
 * optimization loop on one thread.
 */
public interface SynthesisLoss {
    /**
     * The objective's terms at the NCHW images {@code x} (samples {@code firstSample ..} of the set, which
     * fixes their classes and layers), and dLoss/dx written into {@code gradOut}.
     */
    BnMatchingLoss.Value lossAndInputGradient(Graph g, float[] x, int batch, float[] gradOut, Objective obj, int firstSample);
}
