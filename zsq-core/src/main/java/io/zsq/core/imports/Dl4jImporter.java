package io.zsq.core.imports;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU6;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J MultiLayerNetwork zip to IR: ConvolutionLayer (NCHW, Truncate or Same mode), BatchNormalization,
 * ActivationLayer and layer activations (identity, ReLU, ReLU6), SubsamplingLayer (max, avg),
 * GlobalPoolingLayer (avg), DenseLayer, OutputLayer (its softmax is dropped: the IR outputs logits).
 */
public final class Dl4jImporter {
    private final Path file;
    private final List<Node> nodes = new ArrayList<>();
    private String current = "input";
    private int[] shape;

    private Dl4jImporter(Path file) {
        this.file = file;
    }

    public static Graph load(Path file) {
        MultiLayerNetwork net;
        try {
            net = ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false);
        } catch (Exception e) {
            throw new ModelImportException(file + ": not a readable DL4J MultiLayerNetwork zip (" + e.getMessage()
                    + "); zsq reads zips written by ModelSerializer/MultiLayerNetwork.save", e);
        }
        return new Dl4jImporter(file).convert(net);
    }

    private Graph convert(MultiLayerNetwork net) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        InputPreProcessor first = conf.getInputPreProcess(0);
        if (!(first instanceof FeedForwardToCnnPreProcessor)) {
            throw new ModelImportException(file + ": layer 0: the network has no image input type; build it with "
                    + ".setInputType(InputType.convolutionalFlat(height, width, channels))");
        }
        FeedForwardToCnnPreProcessor p = (FeedForwardToCnnPreProcessor) first;
        int[] inputShape = {(int) p.getNumChannels(), (int) p.getInputHeight(), (int) p.getInputWidth()};
        shape = inputShape;
        for (int i = 0; i < conf.getConfs().size(); i++) {
            org.deeplearning4j.nn.conf.layers.Layer lc = conf.getConf(i).getLayer();
            String id = "layer" + i + (lc.getLayerName() != null ? "_" + lc.getLayerName() : "");
            try {
                layer(id, lc, net.getLayer(i).paramTable());
            } catch (ModelImportException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ModelImportException(file + ": " + id + " (" + lc.getClass().getSimpleName() + "): " + e.getMessage(), e);
            }
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("source.format", "dl4j");
        try {
            return Graph.of("input", inputShape, current, nodes, Set.of(), meta);
        } catch (IllegalArgumentException e) {
            throw new ModelImportException(file + ": " + e.getMessage(), e);
        }
    }

    private void layer(String id, org.deeplearning4j.nn.conf.layers.Layer lc, Map<String, INDArray> params) {
        if (lc instanceof ConvolutionLayer && lc.getClass() == ConvolutionLayer.class) {
            ConvolutionLayer c = (ConvolutionLayer) lc;
            if (c.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
                throw err(id, lc, "only NCHW data format is supported");
            }
            if (c.getDilation()[0] != 1 || c.getDilation()[1] != 1) {
                throw err(id, lc, "dilated convolutions are not supported");
            }
            Map<String, Tensor> p = new LinkedHashMap<>();
            p.put("W", tensor(params.get("W")));
            if (c.hasBias()) {
                p.put("B", flat(params.get("b")));
            }
            Map<String, int[]> a = new LinkedHashMap<>();
            a.put("strides", c.getStride().clone());
            a.put("pads", pads(c.getConvolutionMode(), c.getKernelSize(), c.getStride(), c.getPadding(), id, lc));
            a.put("group", new int[] {1});
            add(id, OpType.CONV, a, Map.of(), p);
            activation(id, c.getActivationFn(), lc);
        } else if (lc instanceof BatchNormalization) {
            BatchNormalization b = (BatchNormalization) lc;
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
        } else if (lc instanceof ActivationLayer) {
            activation(id, ((ActivationLayer) lc).getActivationFn(), lc);
        } else if (lc instanceof SubsamplingLayer && lc.getClass() == SubsamplingLayer.class) {
            SubsamplingLayer s = (SubsamplingLayer) lc;
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
            add(id, OpType.GLOBAL_AVG_POOL, Map.of(), Map.of(), Map.of());
            add(id + "_flatten", OpType.FLATTEN, Map.of(), Map.of(), Map.of());
        } else if (lc instanceof DenseLayer || lc instanceof OutputLayer) {
            if (shape.length != 1) {
                add(id + "_flatten", OpType.FLATTEN, Map.of(), Map.of(), Map.of());
            }
            Map<String, Tensor> p = new LinkedHashMap<>();
            Tensor w = tensor(params.get("W"));
            p.put("W", OnnxImporter.transpose(w));
            if (params.containsKey("b")) {
                p.put("B", flat(params.get("b")));
            }
            add(id, OpType.DENSE, Map.of(), Map.of(), p);
            IActivation act = ((BaseLayer) lc).getActivationFn();
            if (!(lc instanceof OutputLayer && act instanceof ActivationSoftmax)) {
                activation(id, act, lc);
            }
        } else {
            throw err(id, lc, "layer type not supported by zsq (ConvolutionLayer, BatchNormalization, ActivationLayer, "
                    + "SubsamplingLayer, GlobalPoolingLayer, DenseLayer, OutputLayer)");
        }
    }

    private void activation(String id, IActivation act, org.deeplearning4j.nn.conf.layers.Layer lc) {
        if (act == null || act instanceof ActivationIdentity) {
            return;
        }
        if (act instanceof ActivationReLU) {
            add(id + "_relu", OpType.RELU, Map.of(), Map.of(), Map.of());
        } else if (act instanceof ActivationReLU6) {
            add(id + "_relu6", OpType.CLIP, Map.of(), Map.of("min", 0f, "max", 6f), Map.of());
        } else {
            throw err(id, lc, "activation " + act + " is not supported (identity, relu, relu6)");
        }
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
        Node n = new Node(id, op, List.of(current), out, ints, floats, params);
        shape = io.zsq.core.ir.ShapeInference.infer(current, shape, List.of(n)).get(out);
        nodes.add(n);
        current = out;
    }

    private ModelImportException err(String id, org.deeplearning4j.nn.conf.layers.Layer lc, String what) {
        return new ModelImportException(file + ": " + id + " (" + lc.getClass().getSimpleName() + "): " + what);
    }

    private static Tensor tensor(INDArray a) {
        long[] s = a.shape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            shape[i] = (int) s[i];
        }
        return new Tensor(shape, a.dup('c').data().asFloat());
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
