package io.zsq.core.imports;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU6;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * DL4J network to IR: a model zip (ModelSerializer), a MultiLayerNetwork or a ComputationGraph told apart by
 * the zip's configuration JSON, or a network already in memory (what {@link KerasImporter} gets from DL4J's
 * Keras import) through {@link #convert(Path, MultiLayerNetwork, Origin)} and
 * {@link #convert(Path, ComputationGraph, Origin)}. Every DL4J layer maps through one method shared by both:
 * ConvolutionLayer, DepthwiseConvolution2D, SeparableConvolution2D (Truncate or Same mode) with their
 * activation, ZeroPaddingLayer, BatchNormalization (whose activation DL4J does not apply), ActivationLayer
 * and layer activations (identity, ReLU, ReLU with a maximum such as ReLU6), SubsamplingLayer (max, avg),
 * GlobalPoolingLayer (avg), DenseLayer, OutputLayer, DropoutLayer (the identity at inference); a softmax
 * on the network's output is dropped (the IR outputs logits; the graph's metadata names it as
 * {@code source.droppedSoftmax}). Preprocessors: FeedForwardToCnn at the image input, CnnToFeedForward as
 * FLATTEN. ComputationGraph vertices: layer vertices, ElementWiseVertex Add, PreprocessorVertex; one image
 * input and one output. Anything else is refused in one line naming the layer or vertex and its type.
 *
 * <p>The IR is always NCHW: its input is {@code [C, H, W]}. DL4J's activations are NCHW in a zip and NHWC in
 * a network imported from Keras (channels_last); every image layer must have the network's layout. The
 * parameters do not depend on it (DL4J keeps convolution weights as {@code [out, in, kh, kw]} either way),
 * so an NHWC layer maps to the same IR node. Only the flatten order does: an NHWC CnnToFeedForward flattens
 * in H, W, C order, the IR's FLATTEN in C, H, W order, so the dense layer reading it gets its weight rows
 * reordered to C, H, W (activations and dropout in between keep the order; any other reader is refused).
 */
public final class Dl4jImporter {
    /**
     * What a loaded network does not record about itself. {@code format}: the graph's {@code source.format};
     * {@code inputShape}: the image input {@code [C, H, W]}, or null to read it from the FeedForwardToCnn
     * preprocessor that {@code InputType.convolutionalFlat} puts there; {@code layout}: the layout of DL4J's
     * activations (NCHW, or NHWC for Keras channels_last); {@code sourceClasses}: layer name to its class in
     * the framework the network came from (Keras's "Conv2D"), for messages and, when not empty, node ids are
     * the layer names.
     */
    record Origin(String format, int[] inputShape, CNN2DFormat layout, Map<String, String> sourceClasses) {
        static final Origin ZIP = new Origin("dl4j", null, CNN2DFormat.NCHW, Map.of());
    }

    private final Path file;
    private final Origin origin;
    private final List<Node> nodes = new ArrayList<>();
    /** Every tensor the graph defines, with its per-image shape. */
    private final Map<String, int[]> shapes = new HashMap<>();
    /**
     * Flat tensors that DL4J holds in H, W, C order (an NHWC flatten) while the IR holds them in C, H, W order,
     * with the {@code [C, H, W]} they were flattened from: the dense layer reading one reorders its weights.
     */
    private final Map<String, int[]> hwcOrder = new HashMap<>();
    private String current;
    private int[] shape;
    /** Whether the layer being mapped produces the network's output (a softmax there is dropped). */
    private boolean atOutput;
    private String droppedSoftmax;

    private Dl4jImporter(Path file, Origin origin) {
        this.file = file;
        this.origin = origin;
    }

    /** A MultiLayerNetwork already loaded (DL4J's Keras import, say); {@code file} is named in every message. */
    static Graph convert(Path file, MultiLayerNetwork net, Origin origin) {
        return new Dl4jImporter(file, origin).convert(net);
    }

    /** A ComputationGraph already loaded; {@code file} is named in every message. */
    static Graph convert(Path file, ComputationGraph cg, Origin origin) {
        return new Dl4jImporter(file, origin).convert(cg);
    }

    public static Graph load(Path file) {
        if (isComputationGraph(file)) {
            ComputationGraph cg;
            try {
                cg = ModelSerializer.restoreComputationGraph(file.toFile(), false);
            } catch (Exception e) {
                throw new ModelImportException(file + ": not a readable DL4J ComputationGraph zip (" + e.getMessage()
                        + "); zsq reads zips written by ModelSerializer/ComputationGraph.save", e);
            }
            return convert(file, cg, Origin.ZIP);
        }
        MultiLayerNetwork net;
        try {
            net = ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false);
        } catch (Exception e) {
            throw new ModelImportException(file + ": not a readable DL4J MultiLayerNetwork zip (" + e.getMessage()
                    + "); zsq reads zips written by ModelSerializer/MultiLayerNetwork.save", e);
        }
        return convert(file, net, Origin.ZIP);
    }

    /** A ComputationGraph's configuration has "vertices"; a MultiLayerNetwork's has "confs". */
    private static boolean isComputationGraph(Path file) {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry e = zip.getEntry("configuration.json");
            if (e == null) {
                throw new ModelImportException(file + ": not a DL4J model zip (no configuration.json entry); zsq reads zips written by "
                        + "ModelSerializer, MultiLayerNetwork.save or ComputationGraph.save");
            }
            try (InputStream in = zip.getInputStream(e)) {
                JsonNode conf = new ObjectMapper().readTree(in);
                if (conf == null || !conf.isObject()) {
                    throw new ModelImportException(file + ": configuration.json is not a JSON object");
                }
                return conf.has("vertices");
            }
        } catch (IOException e) {
            throw new ModelImportException(file + ": not a readable DL4J model zip (" + e.getMessage() + ")", e);
        }
    }

    private Graph convert(MultiLayerNetwork net) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        int[] inputShape = origin.inputShape();
        if (inputShape == null) {
            InputPreProcessor first = conf.getInputPreProcess(0);
            if (!(first instanceof FeedForwardToCnnPreProcessor)) {
                throw new ModelImportException(file + ": layer 0: the network has no image input type; build it with "
                        + ".setInputType(InputType.convolutionalFlat(height, width, channels))");
            }
            inputShape = imageShape((FeedForwardToCnnPreProcessor) first);
        }
        define("input", inputShape);
        current = "input";
        shape = inputShape;
        int layers = conf.getConfs().size();
        for (int i = 0; i < layers; i++) {
            org.deeplearning4j.nn.conf.layers.Layer lc = conf.getConf(i).getLayer();
            String id = !origin.sourceClasses().isEmpty() && lc.getLayerName() != null ? lc.getLayerName()
                    : "layer" + i + (lc.getLayerName() != null ? "_" + lc.getLayerName() : "");
            atOutput = i == layers - 1;
            mapLayer(id, conf.getInputPreProcess(i), lc, net.getLayer(i).paramTable());
        }
        return graph("input", inputShape, current);
    }

    private Graph convert(ComputationGraph cg) {
        ComputationGraphConfiguration conf = cg.getConfiguration();
        List<String> inputs = conf.getNetworkInputs();
        List<String> outputs = conf.getNetworkOutputs();
        if (inputs.size() != 1) {
            throw new ModelImportException(file + ": the ComputationGraph has " + inputs.size() + " inputs " + inputs + "; zsq reads one image input");
        }
        if (outputs.size() != 1) {
            throw new ModelImportException(file + ": the ComputationGraph has " + outputs.size() + " outputs " + outputs + "; zsq reads one output");
        }
        String input = inputs.get(0);
        int[] inputShape = origin.inputShape() != null ? origin.inputShape() : graphInputShape(conf, input);
        define(input, inputShape);
        Map<String, String> tensorOf = new HashMap<>(); // vertex name -> the IR tensor holding its output
        tensorOf.put(input, input);
        org.deeplearning4j.nn.graph.vertex.GraphVertex[] runtime = cg.getVertices();
        for (int index : cg.topologicalSortOrder()) {
            String name = runtime[index].getVertexName();
            if (runtime[index].isInputVertex()) {
                continue;
            }
            GraphVertex v = conf.getVertices().get(name);
            List<String> in = conf.getVertexInputs().getOrDefault(name, List.of());
            atOutput = outputs.contains(name) && conf.getVertexInputs().values().stream().noneMatch(l -> l.contains(name));
            List<String> tensors = new ArrayList<>();
            for (String i : in) {
                tensors.add(tensorOf.get(i));
            }
            if (v instanceof LayerVertex && tensors.size() == 1) {
                LayerVertex lv = (LayerVertex) v;
                at(tensors.get(0));
                mapLayer(name, lv.getPreProcessor(), lv.getLayerConf().getLayer(), cg.getLayer(name).paramTable());
            } else if (v instanceof ElementWiseVertex && ((ElementWiseVertex) v).getOp() == ElementWiseVertex.Op.Add && tensors.size() >= 2) {
                add(name, tensors);
            } else if (v instanceof PreprocessorVertex && tensors.size() == 1) {
                at(tensors.get(0));
                preprocessor(name, ((PreprocessorVertex) v).getPreProcessor());
            } else {
                String type = origin.sourceClasses().containsKey(name) ? origin.sourceClasses().get(name)
                        : v == null ? "unknown" : v.getClass().getSimpleName() + (v instanceof ElementWiseVertex ? " " + ((ElementWiseVertex) v).getOp() : "");
                throw new ModelImportException(file + ": vertex " + name + " (" + type + ", " + in.size() + " input" + (in.size() == 1 ? "" : "s")
                        + "): not supported by zsq (layer vertices of one input, ElementWiseVertex Add, PreprocessorVertex)");
            }
            tensorOf.put(name, current);
        }
        return graph(input, inputShape, tensorOf.get(outputs.get(0)));
    }

    /**
     * A ComputationGraph zip does not record its input type: the image size is known only from the
     * FeedForwardToCnn preprocessor that InputType.convolutionalFlat puts on every layer reading the input.
     */
    private int[] graphInputShape(ComputationGraphConfiguration conf, String input) {
        int[] found = null;
        for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
            if (!e.getValue().contains(input)) {
                continue;
            }
            GraphVertex v = conf.getVertices().get(e.getKey());
            InputPreProcessor p = v instanceof LayerVertex ? ((LayerVertex) v).getPreProcessor() : null;
            if (!(p instanceof FeedForwardToCnnPreProcessor)) {
                throw new ModelImportException(file + ": input " + input + " (read by vertex " + e.getKey() + "): the zip does not record the "
                        + "image size; build the graph with .setInputTypes(InputType.convolutionalFlat(height, width, channels)) and "
                        + "let layers (not other vertices) read the input");
            }
            int[] s = imageShape((FeedForwardToCnnPreProcessor) p);
            if (found != null && !Arrays.equals(found, s)) {
                throw new ModelImportException(file + ": input " + input + ": its readers disagree on the image shape (" + Arrays.toString(found)
                        + " and " + Arrays.toString(s) + ")");
            }
            found = s;
        }
        if (found == null) {
            throw new ModelImportException(file + ": input " + input + " is read by no vertex");
        }
        return found;
    }

    private static int[] imageShape(FeedForwardToCnnPreProcessor p) {
        return new int[] {(int) p.getNumChannels(), (int) p.getInputHeight(), (int) p.getInputWidth()};
    }

    private Graph graph(String input, int[] inputShape, String output) {
        if (hwcOrder.containsKey(output)) {
            throw new ModelImportException(file + ": the output is a channels_last flatten (H, W, C order); zsq's would be in C, H, W "
                    + "order: end the model with a Dense or global pooling layer");
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("source.format", origin.format());
        if (droppedSoftmax != null) {
            meta.put("source.droppedSoftmax", droppedSoftmax);
        }
        try {
            return Graph.of(input, inputShape, output, nodes, Set.of(), meta);
        } catch (IllegalArgumentException e) {
            throw new ModelImportException(file + ": " + e.getMessage(), e);
        }
    }

    /** One DL4J layer (MultiLayerNetwork layer or ComputationGraph layer vertex) with its input preprocessor, read from {@link #current}. */
    private void mapLayer(String id, InputPreProcessor pre, org.deeplearning4j.nn.conf.layers.Layer lc, Map<String, INDArray> params) {
        try {
            preprocessor(id, pre);
            layer(id, lc, params);
        } catch (ModelImportException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelImportException(file + ": " + id + " (" + type(lc) + "): " + e.getMessage(), e);
        }
    }

    private void preprocessor(String id, InputPreProcessor p) {
        if (p == null) {
            return;
        }
        if (p instanceof FeedForwardToCnnPreProcessor && Arrays.equals(shape, imageShape((FeedForwardToCnnPreProcessor) p))) {
            return; // the image input, already [C, H, W]
        }
        if (p instanceof CnnToFeedForwardPreProcessor) {
            CnnToFeedForwardPreProcessor c = (CnnToFeedForwardPreProcessor) p;
            int[] expect = {(int) c.getNumChannels(), (int) c.getInputHeight(), (int) c.getInputWidth()};
            String name = p.getClass().getSimpleName();
            if (p.getClass() != CnnToFeedForwardPreProcessor.class) { // Keras 1's TensorFlowCnnToFeedForwardPreProcessor permutes first
                throw new ModelImportException(file + ": " + id + " (" + name + "): preprocessor not supported by zsq (CnnToFeedForward)");
            }
            CNN2DFormat format = c.getFormat() == null ? CNN2DFormat.NCHW : c.getFormat();
            if (format != origin.layout()) {
                throw new ModelImportException(file + ": " + id + " (" + name + "): flattens " + format + " activations; the network's are "
                        + origin.layout());
            }
            if (shape.length == 1 && shape[0] == expect[0] * expect[1] * expect[2]) {
                return; // already flat
            }
            if (!Arrays.equals(shape, expect)) {
                throw new ModelImportException(file + ": " + id + " (CnnToFeedForwardPreProcessor): expects " + Arrays.toString(expect)
                        + ", its input is " + Arrays.toString(shape));
            }
            add(id + "_flatten", OpType.FLATTEN, Map.of(), Map.of(), Map.of());
            if (format == CNN2DFormat.NHWC) {
                hwcOrder.put(current, expect);
            }
            return;
        }
        throw new ModelImportException(file + ": " + id + " (" + p.getClass().getSimpleName() + " on an input of shape " + Arrays.toString(shape)
                + "): preprocessor not supported by zsq (FeedForwardToCnn at the image input, CnnToFeedForward)");
    }

    private void layer(String id, org.deeplearning4j.nn.conf.layers.Layer lc, Map<String, INDArray> params) {
        if (lc instanceof ConvolutionLayer && (lc.getClass() == ConvolutionLayer.class || lc instanceof DepthwiseConvolution2D
                || lc instanceof SeparableConvolution2D)) {
            ConvolutionLayer c = (ConvolutionLayer) lc;
            requireLayout(id, lc, c.getCnn2dDataFormat());
            if (c.getDilation()[0] != 1 || c.getDilation()[1] != 1) {
                throw err(id, lc, "dilated convolutions are not supported");
            }
            Map<String, int[]> a = new LinkedHashMap<>();
            a.put("strides", c.getStride().clone());
            a.put("pads", pads(c.getConvolutionMode(), c.getKernelSize(), c.getStride(), c.getPadding(), id, lc));
            Map<String, Tensor> p = new LinkedHashMap<>();
            if (lc instanceof DepthwiseConvolution2D) {
                // W [kh, kw, in, m]; output channel ic * m + j is input channel ic through multiplier j
                p.put("W", depthwise(params.get("W"), 2, 3, 0, 1));
                a.put("group", new int[] {shape[0]});
            } else if (lc instanceof SeparableConvolution2D) {
                // depthwise W [m, in, kh, kw] (no bias), then the pointwise pW [out, in * m, 1, 1] with the bias and the activation
                a.put("group", new int[] {shape[0]});
                add(id + "_depthwise", OpType.CONV, a, Map.of(), Map.of("W", depthwise(params.get("W"), 1, 0, 2, 3)));
                a = new LinkedHashMap<>();
                a.put("strides", new int[] {1, 1});
                a.put("pads", new int[] {0, 0, 0, 0});
                a.put("group", new int[] {1});
                p.put("W", tensor(params.get("pW")));
            } else {
                p.put("W", tensor(params.get("W")));
                a.put("group", new int[] {1});
            }
            if (c.hasBias()) {
                p.put("B", flat(params.get("b")));
            }
            add(id, OpType.CONV, a, Map.of(), p);
            activation(id, c.getActivationFn(), lc);
        } else if (lc instanceof ZeroPaddingLayer) {
            ZeroPaddingLayer z = (ZeroPaddingLayer) lc;
            requireLayout(id, lc, z.getDataFormat());
            int[] q = z.getPadding(); // top, bottom, left, right
            add(id, OpType.PAD, Map.of("pads", new int[] {0, q[0], q[2], 0, q[1], q[3]}), Map.of(), Map.of());
        } else if (lc instanceof BatchNormalization) {
            BatchNormalization b = (BatchNormalization) lc;
            if (shape.length == 3) {
                requireLayout(id, lc, b.getCnn2DFormat());
            }
            float eps = (float) b.getEps();
            Map<String, Tensor> p = new LinkedHashMap<>();
            Tensor mean = flat(params.get("mean"));
            int c = mean.data().length;
            p.put("scale", params.containsKey("gamma") ? flat(params.get("gamma")) : constant(c, (float) b.getGamma()));
            p.put("bias", params.containsKey("beta") ? flat(params.get("beta")) : constant(c, (float) b.getBeta()));
            p.put("mean", mean);
            if (params.containsKey("log10stdev")) {
                float[] l = flat(params.get("log10stdev")).data();
                float[] v = new float[c];
                for (int i = 0; i < c; i++) {
                    v[i] = (float) (Math.pow(10, 2.0 * l[i]) - eps);
                }
                p.put("var", new Tensor(new int[] {c}, v));
            } else {
                p.put("var", flat(params.get("var")));
            }
            add(id, OpType.BATCH_NORM, Map.of(), Map.of("epsilon", eps), p);
        } else if (lc instanceof DropoutLayer) {
            return; // the identity at inference
        } else if (lc instanceof ActivationLayer) {
            activation(id, ((ActivationLayer) lc).getActivationFn(), lc);
        } else if (lc instanceof SubsamplingLayer && lc.getClass() == SubsamplingLayer.class) {
            SubsamplingLayer s = (SubsamplingLayer) lc;
            requireLayout(id, lc, s.getCnn2dDataFormat());
            if (s.getPoolingType() != PoolingType.MAX && s.getPoolingType() != PoolingType.AVG) {
                throw err(id, lc, "pooling type " + s.getPoolingType() + " is not supported (MAX, AVG)");
            }
            Map<String, int[]> a = new LinkedHashMap<>();
            a.put("kernel", s.getKernelSize().clone());
            a.put("strides", s.getStride().clone());
            a.put("pads", pads(s.getConvolutionMode(), s.getKernelSize(), s.getStride(), s.getPadding(), id, lc));
            a.put("countIncludePad", new int[] {0});
            add(id, s.getPoolingType() == PoolingType.MAX ? OpType.MAX_POOL : OpType.AVG_POOL, a, Map.of(), Map.of());
        } else if (lc instanceof GlobalPoolingLayer) {
            GlobalPoolingLayer gp = (GlobalPoolingLayer) lc;
            if (gp.getPoolingType() != PoolingType.AVG) {
                throw err(id, lc, "only average global pooling is supported");
            }
            int[] spatial = origin.layout() == CNN2DFormat.NHWC ? new int[] {1, 2} : new int[] {2, 3};
            if (gp.getPoolingDimensions() != null && !Arrays.equals(gp.getPoolingDimensions(), spatial)) {
                throw err(id, lc, "pools over dimensions " + Arrays.toString(gp.getPoolingDimensions()) + "; zsq pools over H and W of "
                        + origin.layout() + " activations " + Arrays.toString(spatial));
            }
            add(id, OpType.GLOBAL_AVG_POOL, Map.of(), Map.of(), Map.of());
            add(id + "_flatten", OpType.FLATTEN, Map.of(), Map.of(), Map.of());
        } else if (lc instanceof DenseLayer || lc instanceof OutputLayer) {
            if (shape.length != 1) {
                int[] chw = shape;
                add(id + "_flatten", OpType.FLATTEN, Map.of(), Map.of(), Map.of());
                if (origin.layout() == CNN2DFormat.NHWC) {
                    hwcOrder.put(current, chw);
                }
            }
            Map<String, Tensor> p = new LinkedHashMap<>();
            Tensor w = tensor(params.get("W")); // [in, out]
            if (hwcOrder.containsKey(current)) {
                w = hwcRowsToChw(w, hwcOrder.get(current));
            }
            p.put("W", OnnxImporter.transpose(w));
            if (params.containsKey("b")) {
                p.put("B", flat(params.get("b")));
            }
            add(id, OpType.DENSE, Map.of(), Map.of(), p);
            activation(id, ((BaseLayer) lc).getActivationFn(), lc);
        } else {
            throw err(id, lc, "layer type not supported by zsq (ConvolutionLayer, DepthwiseConvolution2D, SeparableConvolution2D, "
                    + "ZeroPaddingLayer, BatchNormalization, ActivationLayer, SubsamplingLayer, GlobalPoolingLayer, DenseLayer, OutputLayer, "
                    + "DropoutLayer)");
        }
    }

    private void activation(String id, IActivation act, org.deeplearning4j.nn.conf.layers.Layer lc) {
        if (act == null || act instanceof ActivationIdentity) {
            return;
        }
        if (act instanceof ActivationSoftmax && atOutput) {
            droppedSoftmax = id; // the IR outputs logits; the argmax is unchanged
            return;
        }
        if (act instanceof ActivationReLU) {
            ActivationReLU r = (ActivationReLU) act; // Keras's ReLU(max_value, negative_slope, threshold)
            if (r.getNegativeSlope() != null && r.getNegativeSlope() != 0 || r.getThreshold() != null && r.getThreshold() != 0) {
                throw err(id, lc, "ReLU with negative slope " + r.getNegativeSlope() + " and threshold " + r.getThreshold()
                        + " is not supported (relu, relu with a maximum)");
            }
            if (r.getMax() == null) {
                add(id + "_relu", OpType.RELU, Map.of(), Map.of(), Map.of());
            } else {
                add(id + (r.getMax() == 6 ? "_relu6" : "_clip"), OpType.CLIP, Map.of(), Map.of("min", 0f, "max", r.getMax().floatValue()), Map.of());
            }
        } else if (act instanceof ActivationReLU6) {
            add(id + "_relu6", OpType.CLIP, Map.of(), Map.of("min", 0f, "max", 6f), Map.of());
        } else {
            throw err(id, lc, "activation " + act + " is not supported (identity, relu, relu6" + (atOutput ? ", softmax" : ", softmax on the output")
                    + ")");
        }
    }

    /** An image layer computes on DL4J activations of one layout; the IR's are NCHW whatever the network's were. */
    private void requireLayout(String id, org.deeplearning4j.nn.conf.layers.Layer lc, CNN2DFormat format) {
        CNN2DFormat f = format == null ? CNN2DFormat.NCHW : format;
        if (f != origin.layout()) {
            throw err(id, lc, "data format " + f + " does not match the network's " + origin.layout() + " input");
        }
    }

    /**
     * A dense weight {@code [in, out]} whose rows follow an NHWC flatten ({@code (h * W + w) * C + c}) reordered
     * to the IR's NCHW flatten ({@code (c * H + h) * W + w}).
     */
    static Tensor hwcRowsToChw(Tensor w, int[] chw) {
        int c = chw[0], h = chw[1], wd = chw[2], out = w.dim(1);
        if (w.dim(0) != c * h * wd) {
            throw new IllegalArgumentException("dense weight " + Arrays.toString(w.shape()) + " does not read a flatten of " + Arrays.toString(chw));
        }
        float[] src = w.data(), dst = new float[src.length];
        for (int ci = 0; ci < c; ci++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < wd; x++) {
                    System.arraycopy(src, ((y * wd + x) * c + ci) * out, dst, ((ci * h + y) * wd + x) * out, out);
                }
            }
        }
        return new Tensor(w.shape(), dst);
    }

    private int[] pads(ConvolutionMode mode, int[] k, int[] s, int[] p, String id, org.deeplearning4j.nn.conf.layers.Layer lc) {
        if (mode == ConvolutionMode.Same) {
            int[] out = new int[4];
            for (int a = 0; a < 2; a++) {
                int in = shape[a + 1];
                int o = (in + s[a] - 1) / s[a];
                int total = Math.max(0, (o - 1) * s[a] + k[a] - in);
                out[a] = total / 2;
                out[a + 2] = total - total / 2;
            }
            return out;
        }
        if (mode == ConvolutionMode.Causal) {
            throw err(id, lc, "causal convolution mode is not supported");
        }
        return new int[] {p[0], p[1], p[0], p[1]};
    }

    private void add(String id, OpType op, Map<String, int[]> ints, Map<String, Float> floats, Map<String, Tensor> params) {
        String out = id + "_out";
        int[] hwc = hwcOrder.get(current);
        if (hwc != null && op != OpType.DENSE && op != OpType.RELU && op != OpType.CLIP) {
            throw new ModelImportException(file + ": " + id + " (" + op + "): reads a channels_last flatten (H, W, C order); zsq reads one "
                    + "only with a Dense layer (activations and dropout between them allowed)");
        }
        Node n = new Node(id, op, List.of(current), out, ints, floats, params);
        int[] s = io.zsq.core.ir.ShapeInference.infer(current, shape, List.of(n)).get(out);
        nodes.add(n);
        define(out, s);
        if (hwc != null && op != OpType.DENSE) {
            hwcOrder.put(out, hwc);
        }
        current = out;
        shape = s;
    }

    /** Element-wise sum of two or more tensors of one shape (a chain of ADD nodes). */
    private void add(String id, List<String> tensors) {
        at(tensors.get(0));
        for (int k = 1; k < tensors.size(); k++) {
            String other = tensors.get(k);
            if (!Arrays.equals(hwcOrder.get(current), hwcOrder.get(other))) {
                throw new ModelImportException(file + ": vertex " + id + " (ElementWiseVertex Add): adds a channels_last flatten (H, W, C order) "
                        + "to a tensor in another order");
            }
            if (!Arrays.equals(shape, shapes.get(other))) {
                throw new ModelImportException(file + ": vertex " + id + " (ElementWiseVertex Add): inputs of shapes " + Arrays.toString(shape)
                        + " and " + Arrays.toString(shapes.get(other)) + "; zsq adds tensors of one shape");
            }
            String nid = tensors.size() == 2 ? id : id + "_" + k;
            String out = nid + "_out";
            nodes.add(new Node(nid, OpType.ADD, List.of(current, other), out, Map.of(), Map.of(), Map.of()));
            define(out, shape);
            if (hwcOrder.containsKey(current)) {
                hwcOrder.put(out, hwcOrder.get(current));
            }
            current = out;
        }
    }

    /** Continue from an already defined tensor. */
    private void at(String tensor) {
        current = tensor;
        shape = shapes.get(tensor);
    }

    private void define(String tensor, int[] s) {
        if (shapes.putIfAbsent(tensor, s.clone()) != null) {
            throw new ModelImportException(file + ": two layers or vertices would both write the tensor '" + tensor + "'; rename one");
        }
    }

    private ModelImportException err(String id, org.deeplearning4j.nn.conf.layers.Layer lc, String what) {
        return new ModelImportException(file + ": " + id + " (" + type(lc) + "): " + what);
    }

    /** The layer's class where the network came from (Keras's "Conv2D"), else DL4J's. */
    private String type(org.deeplearning4j.nn.conf.layers.Layer lc) {
        String source = lc.getLayerName() == null ? null : origin.sourceClasses().get(lc.getLayerName());
        return source != null ? source : lc.getClass().getSimpleName();
    }

    private static Tensor tensor(INDArray a) {
        long[] s = a.shape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            shape[i] = (int) s[i];
        }
        return new Tensor(shape, a.dup('c').data().asFloat());
    }

    /**
     * Depthwise weights to the IR's {@code [in * m, 1, kh, kw]} (group = in): {@code in}, {@code m}, {@code kh}, {@code kw}
     * name the axes of {@code a} that hold the input channel, the multiplier and the kernel rows and columns.
     */
    private static Tensor depthwise(INDArray a, int in, int m, int kh, int kw) {
        INDArray w = a.permute(in, m, kh, kw).dup('c');
        long[] s = w.shape();
        return new Tensor(new int[] {(int) (s[0] * s[1]), 1, (int) s[2], (int) s[3]}, w.data().asFloat());
    }

    private static Tensor flat(INDArray a) {
        float[] v = a.dup('c').data().asFloat();
        return new Tensor(new int[] {v.length}, v);
    }

    private static Tensor constant(int n, float v) {
        float[] d = new float[n];
        Arrays.fill(d, v);
        return new Tensor(new int[] {n}, d);
    }
}
