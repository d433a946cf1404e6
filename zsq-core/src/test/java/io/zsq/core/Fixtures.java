package io.zsq.core;

import io.zsq.core.data.IdxDataset;
import io.zsq.core.data.Preprocessing;
import java.nio.file.Path;

/** Bundled models and the Fashion-MNIST test set (Debian's dataset-fashion-mnist, installed by .ci/run). */
public final class Fixtures {
    public static final Path RESNET_ONNX = Path.of("../src/models/fmnist-resnet.onnx");
    public static final Path DL4J_CNN = Path.of("../src/models/fmnist-dl4j-cnn.zip");
    public static final Path MOBILENET_ONNX = Path.of("../src/models/fmnist-mobilenet.onnx");
    public static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");
    public static final Preprocessing PRE = Preprocessing.parse("0.2860", "0.3530");

    private Fixtures() {}

    public static IdxDataset test(int n) {
        return IdxDataset.load(FASHION, "t10k", n);
    }

    /**
     * Activation parameters from the min-max of {@code n} images (the first of the test set: the tests
     * that use this check arithmetic, not calibration), shrunk by {@code shrink} except at the input.
     */
    public static java.util.Map<String, io.zsq.core.quant.QParams> minMaxPoints(io.zsq.core.ir.Graph g, io.zsq.core.quant.Scheme scheme,
                                                                             float[] calib, int n, double shrink) {
        io.zsq.core.exec.Fp32Engine.Trace t = io.zsq.core.exec.Fp32Engine.forward(g, calib, n, null);
        java.util.Map<String, io.zsq.core.quant.QParams> points = new java.util.LinkedHashMap<>();
        for (String tensor : io.zsq.core.quant.QuantPoints.of(g)) {
            double lo = 0, hi = 0;
            for (float v : t.get(tensor)) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            double s = tensor.equals(g.input()) ? 1 : shrink;
            points.put(tensor, scheme.activation(s * lo, s * hi, scheme.activationBits(g, tensor)));
        }
        return points;
    }
}
