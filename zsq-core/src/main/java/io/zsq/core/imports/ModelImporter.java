package io.zsq.core.imports;

import io.zsq.core.io.Locations;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Picks the importer by file type and checks what every zsq pipeline needs (BatchNorm statistics). */
public final class ModelImporter {
    /** Graph metadata key of the file a graph was read from (errors about the model name it). */
    public static final String SOURCE_FILE = "source.file";

    private ModelImporter() {}

    public static Graph load(Path file) {
        return load(file, null);
    }

    /**
     * {@code inputShape} ({@code [C, H, W]}, or null): the input size for dimensions an ONNX model leaves
     * symbolic; a model whose fixed input size differs is refused.
     */
    public static Graph load(Path file, int[] inputShape) {
        if (!Files.isRegularFile(file)) {
            throw new ModelImportException(file + ": no such model file");
        }
        String name = file.getFileName().toString().toLowerCase();
        Graph g;
        try {
            if (name.endsWith(".onnx")) {
                g = OnnxImporter.load(file, inputShape);
            } else if (name.endsWith(".zip")) {
                try (Locations.LocalFile local = Locations.local(file)) { // DL4J reads zips from the local disk only
                    g = requireInputShape(Dl4jImporter.load(local.path()), inputShape, file);
                }
            } else if (name.endsWith(".h5") || name.endsWith(".hdf5") || name.endsWith(".keras")) {
                try (Locations.LocalFile local = Locations.local(file)) { // so does the HDF5 library
                    g = requireInputShape(KerasImporter.load(local.path()), inputShape, file);
                }
            } else {
                throw new ModelImportException(file + ": unknown model type; zsq reads ONNX (.onnx), DL4J model zips (.zip) and Keras 2 HDF5 "
                        + "models (.h5, .hdf5)");
            }
        } catch (ModelImportException e) {
            throw e;
        } catch (IOException e) {
            throw new ModelImportException(file + ": cannot read it (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) { // an importer's own checks name what is wrong; anything else still names the file
            throw new ModelImportException(file + ": not a model zsq can read (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
        requireFinite(g, file);
        requireBatchNorm(g, file);
        java.util.Map<String, String> meta = new java.util.LinkedHashMap<>(g.metadata());
        meta.put(SOURCE_FILE, file.toString());
        return new Graph(g.input(), g.inputShape(), g.output(), g.nodes(), g.shapes(), g.properties(), meta);
    }

    /** A DL4J or Keras model records its input size: --input-shape may only repeat it (as {@code [C, H, W]}). */
    private static Graph requireInputShape(Graph g, int[] inputShape, Path file) {
        if (inputShape != null && !java.util.Arrays.equals(inputShape, g.inputShape())) {
            throw new ModelImportException(file + ": --input-shape " + InputShapes.format(inputShape) + " contradicts the model's input "
                    + InputShapes.format(g.inputShape()) + " (CxHxW)");
        }
        return g;
    }

    /** A NaN or infinite weight (a damaged file, or a diverged training run) would poison every range: refuse it naming the node. */
    static void requireFinite(Graph g, Path file) {
        for (Node n : g.nodes()) {
            for (java.util.Map.Entry<String, io.zsq.core.ir.Tensor> e : n.params().entrySet()) {
                int bad = 0;
                for (float v : e.getValue().data()) {
                    bad += Float.isFinite(v) ? 0 : 1;
                }
                if (bad > 0) {
                    throw new ModelImportException(file + ": node " + n.id() + " (" + n.op() + "): parameter " + e.getKey() + " holds " + bad
                            + " NaN or infinite value" + (bad > 1 ? "s" : "") + " of " + e.getValue().data().length);
                }
            }
        }
    }

    /** Zero-shot quantization reads the BN statistics; a graph without BN nodes cannot be used. */
    static void requireBatchNorm(Graph g, Path file) {
        for (Node n : g.nodes()) {
            if (n.op() == OpType.BATCH_NORM) {
                return;
            }
        }
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        String hint = name.endsWith(".onnx")
                ? "They were probably folded into the convolutions at export: from PyTorch, export with "
                        + "torch.onnx.export(..., training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False) on the model in eval mode."
                : "Data-free quantization needs a model trained with BatchNormalization layers, saved with them (not fused).";
        throw new ModelImportException(file + ": the model has no BatchNormalization layers, so there are no BN statistics to "
                + "synthesize data from. " + hint);
    }

    public static String sha256(Path file) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(md.digest(Files.readAllBytes(file)));
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new ModelImportException(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
