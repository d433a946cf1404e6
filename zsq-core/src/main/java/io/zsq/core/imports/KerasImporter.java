package io.zsq.core.imports;

import io.zsq.core.ir.Graph;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.modelimport.keras.Hdf5Archive;
import org.deeplearning4j.nn.modelimport.keras.KerasLayer;
import org.deeplearning4j.nn.modelimport.keras.KerasModel;
import org.deeplearning4j.nn.modelimport.keras.KerasSequentialModel;
import org.deeplearning4j.nn.modelimport.keras.config.KerasModelConfiguration;
import org.deeplearning4j.nn.modelimport.keras.utils.KerasModelBuilder;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * Keras 2 HDF5 model ({@code model.save("m.h5")} under Keras 2 / tf.keras) to IR, through DL4J's own Keras
 * import: a {@code Sequential} model (told apart by the {@code class_name} of the file's {@code model_config})
 * becomes a MultiLayerNetwork, a functional one ({@code Functional} or {@code Model}) a ComputationGraph, and
 * {@link Dl4jImporter} converts that network. The training configuration is not read (enforceTrainingConfig
 * off): zsq needs the inference graph only, and DL4J 1.0.0-M2.1 does not know the optimizer names of
 * TF 2.11+ ({@code Custom>Adam}).
 *
 * <p>Layers, by Keras class: InputLayer, Conv2D, DepthwiseConv2D, SeparableConv2D (no dilation),
 * BatchNormalization, Activation and layer activations (linear, relu, relu6; softmax on the output only,
 * where it is dropped: the IR outputs logits), ReLU (with or without max_value), MaxPooling2D,
 * AveragePooling2D, GlobalAveragePooling2D, ZeroPadding2D, Flatten, Dense, Dropout, Add. Anything else
 * (a Lambda, an LSTM, a nested model) is refused before DL4J reads the weights, in one line naming the layer
 * and its class. A Keras 3 {@code .keras} file (a zip) is refused: DL4J reads the Keras 2 HDF5 format only.
 *
 * <p>Layout. A Keras image model is channels_last: it takes {@code [N, H, W, C]}, and DL4J's Keras import
 * keeps that (its layers run NHWC, with the Keras weights reordered to DL4J's {@code [out, in, kh, kw]}; a
 * Flatten becomes an NHWC CnnToFeedForward preprocessor, flattening in H, W, C order as Keras does). The
 * IR, like every zsq model, is NCHW: the graph's input is {@code [C, H, W]} (a Keras input of 32x32x3 is
 * {@code [3, 32, 32]}), and a zsq user passes images as NCHW, transposed from what the Keras model was fed.
 * The outputs are the same numbers: the dense layer after a Flatten gets its weight rows reordered from
 * H, W, C to C, H, W order ({@link Dl4jImporter}). A model saved with {@code data_format="channels_first"}
 * runs NCHW in DL4J and maps without reordering (no test covers it).
 */
public final class KerasImporter {
    /** The Keras layer classes whose DL4J layers {@link Dl4jImporter} converts. */
    static final Set<String> LAYERS = Set.of("InputLayer", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "BatchNormalization", "Activation",
            "ReLU", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "ZeroPadding2D", "Flatten", "Dense", "Dropout", "Add");

    private static final byte[] HDF5_SIGNATURE = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    private static final String RESAVE = "DL4J reads Keras 2 HDF5 only: under Keras 2 / tf.keras (TensorFlow <= 2.15, or tf_keras), "
            + "load the model and re-save it with model.save(\"m.h5\")";

    private KerasImporter() {}

    public static Graph load(Path file) {
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        byte[] head = head(file);
        if (name.endsWith(".keras") || head.length >= 2 && head[0] == 'P' && head[1] == 'K') {
            throw new ModelImportException(file + ": a Keras 3 .keras file (a zip); " + RESAVE);
        }
        if (!isHdf5(file)) {
            throw new ModelImportException(file + ": not an HDF5 file (no HDF5 signature); zsq reads Keras 2 models saved with model.save(\"m.h5\")");
        }
        requireModelConfig(file);
        KerasModelBuilder builder = null;
        try {
            builder = new KerasModelBuilder(new KerasModelConfiguration()).modelHdf5Filename(file.toString()).enforceTrainingConfig(false);
            JsonNode config = new ObjectMapper().readTree(builder.getModelJson());
            String modelClass = config.path("class_name").asText();
            String version = config.path("keras_version").asText("");
            if (version.startsWith("3")) {
                throw new ModelImportException(file + ": written by Keras " + version + "; " + RESAVE);
            }
            boolean sequential = modelClass.equals("Sequential");
            if (!sequential && !modelClass.equals("Functional") && !modelClass.equals("Model")) {
                throw new ModelImportException(file + ": model_config has class_name '" + modelClass + "'; zsq reads Sequential and functional "
                        + "(Functional, Model) Keras models");
            }
            requireSupportedLayers(file, config);
            KerasModel model = sequential ? builder.buildSequential() : builder.buildModel();
            Dl4jImporter.Origin origin = origin(file, model);
            return sequential ? Dl4jImporter.convert(file, ((KerasSequentialModel) model).getMultiLayerNetwork(), origin)
                    : Dl4jImporter.convert(file, model.getComputationGraph(), origin);
        } catch (ModelImportException e) {
            throw e;
        } catch (Exception e) {
            throw new ModelImportException(file + ": DL4J's Keras import failed: " + brief(e), e);
        } finally {
            if (builder != null) {
                builder.close();
            }
        }
    }

    /** The input type DL4J inferred for the one input layer, and each layer's Keras class. */
    private static Dl4jImporter.Origin origin(Path file, KerasModel model) {
        List<String> inputs = model.getInputLayerNames();
        if (inputs.size() != 1) {
            throw new ModelImportException(file + ": the model has " + inputs.size() + " inputs " + inputs + "; zsq reads one image input");
        }
        InputType t = model.getOutputTypes().get(inputs.get(0));
        if (!(t instanceof InputType.InputTypeConvolutional)) {
            throw new ModelImportException(file + ": input " + inputs.get(0) + " is " + t + "; zsq reads image models (an input of height x width "
                    + "x channels)");
        }
        InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) t;
        Map<String, String> classes = new LinkedHashMap<>();
        for (KerasLayer l : model.getLayersOrdered()) {
            classes.put(l.getLayerName(), l.getClassName());
        }
        int[] chw = {(int) c.getChannels(), (int) c.getHeight(), (int) c.getWidth()};
        return new Dl4jImporter.Origin("keras", chw, c.getFormat(), classes);
    }

    /** Refuses, naming the layer and its class, what the conversion would not map (before DL4J reads the weights). */
    private static void requireSupportedLayers(Path file, JsonNode modelConfig) {
        JsonNode c = modelConfig.path("config");
        JsonNode layers = c.isArray() ? c : c.path("layers"); // Sequential of Keras <= 2.2.2 is a bare list of layers
        if (!layers.isArray() || layers.size() == 0) {
            throw new ModelImportException(file + ": model_config lists no layers");
        }
        List<String> refused = new ArrayList<>();
        String firstClass = null;
        for (JsonNode l : layers) {
            String cls = l.path("class_name").asText();
            if (!LAYERS.contains(cls)) {
                firstClass = firstClass == null ? cls : firstClass;
                refused.add(l.path("config").path("name").asText(l.path("name").asText("?")) + " (" + cls + ")");
            }
        }
        if (firstClass != null) {
            String nested = Set.of("Sequential", "Functional", "Model").contains(firstClass)
                    ? " (a nested model: save the inner model on its own, or rebuild the model flat)" : "";
            throw new ModelImportException(file + ": layer " + refused.get(0) + nested + " is not supported by zsq's Keras import"
                    + (refused.size() > 1 ? " (nor " + String.join(", ", refused.subList(1, refused.size())) + ")" : "")
                    + "; supported: " + String.join(", ", new TreeSet<>(LAYERS)));
        }
    }

    /** A weights-only file (model.save_weights) has no model_config; say so rather than DL4J's message. */
    private static void requireModelConfig(Path file) {
        Hdf5Archive archive;
        try {
            org.bytedeco.hdf5.Exception.dontPrint(); // the HDF5 library's own error dump to stderr: the message below says it in one line
            archive = new Hdf5Archive(file.toString());
        } catch (RuntimeException e) {
            throw new ModelImportException(file + ": not a readable HDF5 file (" + brief(e) + "; truncated or damaged?)", e);
        }
        try {
            if (!archive.hasAttribute("model_config")) {
                throw new ModelImportException(file + ": the HDF5 file has no model_config attribute (weights only, as model.save_weights writes?); "
                        + "zsq reads whole Keras 2 models saved with model.save(\"m.h5\")");
            }
        } finally {
            archive.close();
        }
    }

    private static boolean isHdf5(Path file) {
        // the superblock is at 0 or, after a user block, at 512, 1024, 2048, ...
        try (InputStream in = Files.newInputStream(file)) {
            byte[] b = new byte[HDF5_SIGNATURE.length];
            long at = 0;
            for (long offset = 0; ; offset = offset == 0 ? 512 : offset * 2) {
                in.skipNBytes(offset - at);
                if (in.readNBytes(b, 0, b.length) < b.length) {
                    return false;
                }
                at = offset + b.length;
                if (Arrays.equals(b, HDF5_SIGNATURE)) {
                    return true;
                }
            }
        } catch (java.io.EOFException e) {
            return false;
        } catch (IOException e) {
            throw new ModelImportException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static byte[] head(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(8);
        } catch (IOException e) {
            throw new ModelImportException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The first line of an exception's message, without DL4J's "please file an issue" and documentation links. */
    static String brief(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        m = m.strip().lines().findFirst().orElse("");
        for (String tail : new String[] {" For more information, see", " Please file an issue at", ". Please file an issue at"}) {
            int i = m.indexOf(tail);
            if (i > 0) {
                m = m.substring(0, i);
            }
        }
        return m.endsWith(".") ? m.substring(0, m.length() - 1) : m;
    }
}
