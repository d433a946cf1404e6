package io.zsq.qat;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.exec.ParameterGradients;
import io.zsq.core.exec.QuantKernels;
import io.zsq.core.exec.Workspace;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import io.zsq.core.quant.ChannelQParams;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.QuantPoints;
import io.zsq.core.quant.Quantization;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Level-2 student: the fake-quantized model exactly as it is lowered (BN folded, activations fused),
 * with its trainable values in one flat vector so that an optimizer, a checkpoint and a data-parallel
 * gradient sum each see one array. Per CONV/DENSE layer, in graph order: the FP32 weights {@code W},
 * the bias {@code B} (one per output channel; zero where the layer had none) and the weight step sizes
 * (one per output channel, LSQ; channels that share a scale under per-tensor or grouped granularity
 * share its gradient, so they stay equal); then one step size per activation quantization point. Zero points,
 * bit widths and the input's parameters stay as Level 1 placed them.
 *
 * <p>The forward pass ({@link #graph}, {@link #quantizer}) is {@code FakeQuant}'s simulation of the
 * {@link Quantization} that {@link #quantization} returns: the same {@code ChannelQParams} and
 * {@code QParams} arithmetic, the int32 bias included, so the integer model lowered from the result equals
 * what was trained. Gradients: straight-through rounding (zero outside the clipping range) for weights and
 * activations; the step sizes' gradients are LSQ's (Esser et al. 2020), {@code round(v) - v} inside and the
 * clipping level outside, scaled by {@code 1 / sqrt(N * Q_P)}; or, for activations, PACT's (Choi et al.
 * 2018): the clipping level alone, from the clipped values.
 */
public final class Student implements Serializable {
    final Graph graph;
    final Quantization init;
    final List<String> layers = new ArrayList<>();
    final Map<String, Integer> layerIndex = new LinkedHashMap<>();
    final int[] wOff, wLen, outC;
    private final int[] bOff, sOff;
    /** Activation points whose step size is learned (every observed point except the graph input), by tensor. */
    final List<String> points = new ArrayList<>();
    /** Every quantized tensor (observed or inheriting) -> the point whose parameters it uses. */
    private final Map<String, String> source = new LinkedHashMap<>();
    final Map<String, Integer> pointIndex = new LinkedHashMap<>();
    private final Map<String, Integer> pointFeatures = new LinkedHashMap<>();
    final int aOff;
    private final int size;

    /** Whether activation step sizes learn as PACT's clipping levels (from clipped values alone) rather than by LSQ. */
    final boolean pact;

    /** The student of a placed Level-1 model: {@code g} is the graph it was lowered from, {@code q} its quantization. */
    public Student(Graph g, Quantization q) {
        this(g, q, false);
    }

    /** {@link #Student(Graph, Quantization)}, with PACT's gradient for the activation step sizes when {@code pact}. */
    public Student(Graph g, Quantization q, boolean pact) {
        this.pact = pact;
        this.graph = g;
        this.init = q;
        for (Node n : g.nodes()) {
            if (n.op() == OpType.CONV || n.op() == OpType.DENSE) {
                layerIndex.put(n.id(), layers.size());
                layers.add(n.id());
            }
        }
        int L = layers.size();
        wOff = new int[L];
        bOff = new int[L];
        sOff = new int[L];
        wLen = new int[L];
        outC = new int[L];
        int at = 0;
        for (int l = 0; l < L; l++) {
            Node n = node(layers.get(l));
            wLen[l] = n.param("W").data().length;
            outC[l] = n.param("W").dim(0);
            wOff[l] = at;
            at += wLen[l];
            bOff[l] = at;
            at += outC[l];
            sOff[l] = at;
            at += outC[l];
        }
        aOff = at;
        List<String> observed = QuantPoints.of(g);
        for (String t : observed) {
            source.put(t, t);
            if (!t.equals(g.input())) {
                pointIndex.put(t, points.size());
                points.add(t);
                pointFeatures.put(t, Tensor.size(g.shape(t)));
            }
        }
        for (Node n : g.nodes()) {
            if (!source.containsKey(n.output()) && q.activations().containsKey(n.output())) {
                source.put(n.output(), source.get(n.input()));
            }
        }
        size = aOff + points.size();
    }

    private Node node(String id) {
        for (Node n : graph.nodes()) {
            if (n.id().equals(id)) {
                return n;
            }
        }
        throw new IllegalArgumentException("no node " + id);
    }

    /** The index of the learned step size quantized {@code tensor} uses, or null (the input's, fixed; or not quantized). */
    Integer learnedPoint(String tensor) {
        String src = source.get(tensor);
        return src == null ? null : pointIndex.get(src);
    }

    /** The tensors the feature term compares: every learned activation point but the output (the logits have their own term). */
    public List<String> features() {
        return points.stream().filter(t -> !t.equals(graph.output())).toList();
    }

    /** Length of the parameter vector. */
    public int size() {
        return size;
    }

    /** The FP32 teacher's layers and Level 1's parameters as the starting vector. */
    public float[] initial() {
        float[] p = new float[size];
        for (int l = 0; l < layers.size(); l++) {
            Node n = node(layers.get(l));
            System.arraycopy(n.param("W").data(), 0, p, wOff[l], wLen[l]);
            Tensor b = n.param("B");
            if (b != null) {
                System.arraycopy(b.data(), 0, p, bOff[l], outC[l]);
            }
            System.arraycopy(init.weights(n).scales(), 0, p, sOff[l], outC[l]);
        }
        for (int i = 0; i < points.size(); i++) {
            p[aOff + i] = init.tensor(points.get(i)).scale();
        }
        return p;
    }

    /** Which entries are step sizes (kept positive by the caller, learned at their own rate). */
    public boolean[] stepSizeMask() {
        boolean[] m = new boolean[size];
        for (int l = 0; l < layers.size(); l++) {
            java.util.Arrays.fill(m, sOff[l], sOff[l] + outC[l], true);
        }
        java.util.Arrays.fill(m, aOff, size, true);
        return m;
    }

    /** The quantization that {@code p} describes: Level 1's, with the learned step sizes. */
    public Quantization quantization(float[] p) {
        Map<String, QParams> act = new LinkedHashMap<>();
        for (Map.Entry<String, QParams> e : init.activations().entrySet()) {
            String src = source.getOrDefault(e.getKey(), e.getKey());
            Integer i = pointIndex.get(src);
            QParams q = init.tensor(src);
            act.put(e.getKey(), i == null ? e.getValue() : new QParams(p[aOff + i], q.zeroPoint(), q.qmin(), q.qmax()));
        }
        Map<String, ChannelQParams> w = new LinkedHashMap<>();
        for (int l = 0; l < layers.size(); l++) {
            ChannelQParams q0 = init.weights().get(layers.get(l));
            w.put(layers.get(l), new ChannelQParams(java.util.Arrays.copyOfRange(p, sOff[l], sOff[l] + outC[l]), q0.qmin(), q0.qmax()));
        }
        return new Quantization(init.scheme(), act, w, init.bnRanged());
    }

    /** The FP32 graph {@code p} describes (its weights and biases, not yet quantized): what lowering takes. */
    public Graph fp32Graph(float[] p) {
        List<Node> nodes = new ArrayList<>();
        for (Node n : graph.nodes()) {
            Integer l = layerIndex.get(n.id());
            if (l == null) {
                nodes.add(n);
                continue;
            }
            Map<String, Tensor> params = new LinkedHashMap<>(n.params());
            params.put("W", new Tensor(n.param("W").shape(), java.util.Arrays.copyOfRange(p, wOff[l], wOff[l] + wLen[l])));
            params.put("B", new Tensor(new int[] {outC[l]}, java.util.Arrays.copyOfRange(p, bOff[l], bOff[l] + outC[l])));
            nodes.add(n.withParams(params));
        }
        return graph.withNodes(nodes, null);
    }

    /** One forward/backward of the student on a micro-batch, its parameters fixed at {@code p}. */
    public final class Pass {
        final float[] p;
        final Quantization q;
        final Graph fq;
        final Quantizer quantizer;
        final io.zsq.core.exec.Workspace ws;

        Pass(float[] p, io.zsq.core.exec.Workspace ws) {
            this.p = p;
            this.ws = ws;
            this.q = quantization(p);
            this.fq = fakeQuantized();
            this.quantizer = new Quantizer(q, ws);
        }

        /**
         * The graph with quantize-dequantized weights and int32-quantized biases, as {@code FakeQuant.of} builds it,
         * from {@link #fp32Graph}'s layers.
         */
        private Graph fakeQuantized() {
            Graph fp32 = fp32Graph(p);
            List<Node> nodes = new ArrayList<>();
            for (Node n : fp32.nodes()) {
                if (!layerIndex.containsKey(n.id())) {
                    nodes.add(n);
                    continue;
                }
                ChannelQParams wq = q.weights().get(n.id());
                float[] b = io.zsq.core.quant.FakeQuant.simulatedBias(n, wq, q.tensor(n.input()));
                Map<String, Tensor> params = new LinkedHashMap<>(n.params());
                params.put("W", new Tensor(n.param("W").shape(), wq.fakeQuantize(n.param("W").data())));
                params.put("B", new Tensor(new int[] {b.length}, b));
                nodes.add(n.withParams(params));
            }
            return fp32.withNodes(nodes, null);
        }

        public Graph graph() {
            return fq;
        }

        public Fp32Engine.Quantizer quantizer() {
            return quantizer;
        }

        /**
         * Adds this pass's gradient to {@code into} (the parameter vector's layout): weights through the
         * straight-through estimator, biases as they are, weight and activation step sizes by LSQ.
         */
        public void gradient(ParameterGradients pg, float[] into) {
            for (int l = 0; l < layers.size(); l++) {
                String id = layers.get(l);
                float[] gw = pg.weight(id), gb = pg.bias(id);
                if (gw == null) {
                    continue;
                }
                ChannelQParams wq = q.weights().get(id);
                int per = wLen[l] / outC[l];
                double[] ds = new double[outC[l]];
                for (int c = 0; c < outC[l]; c++) {
                    float s = wq.scales()[c];
                    double gscale = 1 / Math.sqrt((double) per * wq.qmax());
                    for (int i = c * per; i < (c + 1) * per; i++) {
                        float v = p[wOff[l] + i] / s;
                        double r = Math.rint(v);
                        if (r < wq.qmin()) {
                            ds[c] += gw[i] * wq.qmin();
                        } else if (r > wq.qmax()) {
                            ds[c] += gw[i] * wq.qmax();
                        } else {
                            into[wOff[l] + i] += gw[i];
                            ds[c] += gw[i] * (r - v);
                        }
                    }
                    ds[c] *= gscale;
                    into[bOff[l] + c] += gb[c];
                }
                // channels that share one scale (per-tensor or grouped granularity) share its gradient: they start equal and stay equal
                int group = Math.min(init.scheme().weightGroup(), outC[l]);
                for (int g0 = 0; g0 < outC[l]; g0 += group) {
                    int g1 = Math.min(outC[l], g0 + group);
                    double sum = 0;
                    for (int c = g0; c < g1; c++) {
                        sum += ds[c];
                    }
                    for (int c = g0; c < g1; c++) {
                        into[sOff[l] + c] += (float) (group == 1 ? ds[c] : sum);
                    }
                }
            }
            quantizer.stepGradients(into);
        }
    }

    /**
     * Activation fake quantization with the step sizes of {@code q}, and its straight-through / LSQ backward:
     * the step sizes' gradients collect in {@link #ds} (by activation point), whatever graph it runs on (the
     * whole student, or one block of it in {@link Reconstruction}).
     */
    final class Quantizer implements Fp32Engine.Quantizer {
        private final Quantization q;
        private final Workspace ws;
        final double[] ds = new double[points.size()];

        Quantizer(Quantization q, Workspace ws) {
            this.q = q;
            this.ws = ws;
        }

        @Override
        public float[] apply(String tensor, float[] v, int batch) {
            QParams a = q.activations().get(tensor);
            if (a == null) {
                return v;
            }
            float[] r = ws == null ? new float[v.length] : ws.floatsUnzeroed(v.length);
            QuantKernels.fakeQuantize(v, a.scale(), a.zeroPoint(), a.qmin(), a.qmax(), r);
            return r;
        }

        @Override
        public float[] backward(String tensor, float[] dy, float[] raw, int batch) {
            QParams a = q.activations().get(tensor);
            if (a == null) {
                return dy;
            }
            addStepGradient(tensor, QuantKernels.backward(dy, raw, a.scale(), a.zeroPoint(), a.qmin(), a.qmax(), !pact));
            return dy;
        }

        /** Adds the straight-through sum {@code acc} of quantized {@code tensor} to its learned step size's gradient (if it has one). */
        void addStepGradient(String tensor, double acc) {
            QParams a = q.activations().get(tensor);
            String src = source.get(tensor);
            Integer idx = src == null ? null : pointIndex.get(src);
            if (idx != null) {
                // LSQ's gradient scale; PACT's clipping level alpha = s * Q_P, so dL/ds = Q_P * dL/dalpha, which the sum already is
                ds[idx] += pact ? acc : acc / Math.sqrt((double) pointFeatures.get(src) * Math.max(1, a.qmax() - a.zeroPoint()));
            }
        }

        void stepGradients(float[] into) {
            for (int i = 0; i < ds.length; i++) {
                into[aOff + i] += (float) ds[i];
            }
        }
    }

    public Pass pass(float[] p) {
        return new Pass(p, null);
    }

    /** A pass whose fake-quantized activations are taken from {@code ws} (valid until its next recycle). */
    public Pass pass(float[] p, io.zsq.core.exec.Workspace ws) {
        return new Pass(p, ws);
    }
}
