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
}
