package io.zsq.core.quant;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.Tensor;
import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * How a model is quantized, apart from the calibrated activation ranges: bit widths (global, and per
 * layer by node id), weight granularity (per-tensor, per-channel, or groups of output channels), full
 * or restricted weight range (weights are always symmetric: the integer kernels have no weight zero
 * point), and symmetric or asymmetric activations (asymmetric ranges that start at 0, as after ReLU,
 * are the unsigned case: zero point at qmin). The network input has its own width, {@code inputBits}: an
 * image is 8-bit data, so by default it stays at 8 bits whatever the layers' activations are.
 */
public record Scheme(int weightBits, int activationBits, int weightGroup, boolean weightFullRange, boolean activationSymmetric,
                     Map<String, Integer> layerWeightBits, Map<String, Integer> layerActivationBits, int inputBits) implements Serializable {

    /** The network input's default width: the 8 bits of an image's pixels. */
    public static final int INPUT_BITS = 8;

    /** Weight group value meaning one scale per tensor. */
    public static final int PER_TENSOR = Integer.MAX_VALUE;

    public Scheme {
        checkBits(weightBits, "weight");
        checkBits(activationBits, "activation");
        checkBits(inputBits, "input");
        if (weightGroup < 1) {
            throw new IllegalArgumentException("weight group size must be >= 1, got " + weightGroup);
        }
        layerWeightBits = new TreeMap<>(layerWeightBits);
        layerActivationBits = new TreeMap<>(layerActivationBits);
        layerWeightBits.values().forEach(b -> checkBits(b, "weight"));
        layerActivationBits.values().forEach(b -> checkBits(b, "activation"));
    }

    /**
     * Per-channel restricted-range weights, asymmetric activations, every activation the input included at
     * {@code activationBits} (a run's plan keeps the input at {@link #INPUT_BITS} unless told otherwise).
     */
    public static Scheme of(int weightBits, int activationBits) {
        return new Scheme(weightBits, activationBits, 1, false, false, Map.of(), Map.of(), activationBits);
    }

    /** {@code channel}, {@code tensor} or {@code group:G}. */
    public static int parseGranularity(String s) {
        if (s.equals("channel")) {
            return 1;
        }
        if (s.equals("tensor")) {
            return PER_TENSOR;
        }
        if (s.startsWith("group:")) {
            try {
                int g = Integer.parseInt(s.substring(6));
                if (g >= 1) {
                    return g;
                }
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("weight granularity must be channel, tensor or group:G (G >= 1), not '" + s + "'");
    }

    public String granularityName() {
        return weightGroup == 1 ? "channel" : weightGroup == PER_TENSOR ? "tensor" : "group:" + weightGroup;
    }

    public Scheme withBits(int w, int a) {
        return new Scheme(w, a, weightGroup, weightFullRange, activationSymmetric, layerWeightBits, layerActivationBits, inputBits);
    }

    public Scheme withLayerBits(Map<String, Integer> w, Map<String, Integer> a) {
        return new Scheme(weightBits, activationBits, weightGroup, weightFullRange, activationSymmetric, w, a, inputBits);
    }

    public Scheme withInputBits(int b) {
        return new Scheme(weightBits, activationBits, weightGroup, weightFullRange, activationSymmetric, layerWeightBits, layerActivationBits, b);
    }

    public int weightBits(Node n) {
        return layerWeightBits.getOrDefault(n.id(), weightBits);
    }

    /** The bit width of a tensor's activations: the input's own, that of the layer producing it, else the global one. */
    public int activationBits(Graph g, String tensor) {
        if (tensor.equals(g.input())) {
            return inputBits;
        }
        for (Node n : g.nodes()) {
            if (n.output().equals(tensor)) {
                return layerActivationBits.getOrDefault(n.id(), activationBits);
            }
        }
        return activationBits;
    }

    /** Weight quantization parameters of a CONV or DENSE node. */
    public ChannelQParams weights(Node n) {
        Tensor w = n.param("W");
        int outC = w.dim(0);
        return ChannelQParams.ofWeights(w.data(), outC, weightBits(n), Math.min(weightGroup, outC), weightFullRange);
    }

    /** Activation parameters of a calibrated range. */
    public QParams activation(double min, double max, int bits) {
        if (activationSymmetric && min < 0) {
            return QParams.fromRange(min, max, bits, true);
        }
        return QParams.fromRange(min, max, bits, false); // includes the unsigned case (min >= 0: zero point qmin)
    }

    /** Every layer id that names no CONV or DENSE node of the graph, for a clear error. */
    public void checkLayers(Graph g) {
        for (Map<String, Integer> m : java.util.List.of(layerWeightBits, layerActivationBits)) {
            for (String id : m.keySet()) {
                boolean found = g.nodes().stream().anyMatch(n -> n.id().equals(id)
                        && (n.op() == io.zsq.core.ir.OpType.CONV || n.op() == io.zsq.core.ir.OpType.DENSE || n.op() == io.zsq.core.ir.OpType.ADD));
                if (!found) {
                    throw new IllegalArgumentException("per-layer bits name '" + id + "', which is no convolution, dense or add layer of the "
                            + "canonical graph (layers: " + g.nodes().stream().filter(n -> n.op() == io.zsq.core.ir.OpType.CONV
                            || n.op() == io.zsq.core.ir.OpType.DENSE || n.op() == io.zsq.core.ir.OpType.ADD).map(Node::id).toList() + ")");
                }
            }
        }
    }

    private static void checkBits(int b, String what) {
        if (b < 2 || b > 8) {
            throw new IllegalArgumentException(what + " bit width must be 2..8, got " + b);
        }
    }
}
