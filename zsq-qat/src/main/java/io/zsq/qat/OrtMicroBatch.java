package io.zsq.qat;

import io.zsq.core.exec.OnnxGraphs;
import io.zsq.core.exec.OrtDevice;
import io.zsq.core.exec.ParameterGradients;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.Tensor;
import io.zsq.core.quant.QParams;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link FineTuner#microBatch} on ONNX Runtime ({@link OrtDevice}: CUDA on a GPU, or the CPU provider): one ONNX
 * graph holds the teacher's forward pass, the student's with fake quantization at its activation points
 * (Java's rounding, half up, and clamp), the distillation loss (with the label and feature terms when
 * weighted) and the reverse mode to the student's fake-quantized weights, its biases and its activation
 * step sizes (straight-through: the gradient passes inside the clipping range; LSQ's or PACT's sum for the
 * step). The weights and step sizes of the step are the graph's inputs, so one graph serves every step.
 * What the graph returns at the fake-quantized weights goes through {@link Student.Pass#gradient}, the same
 * straight-through / LSQ mapping to the parameter vector as on the CPU, so the two engines' gradients differ
 * by float rounding only ({@code OrtMicroBatchTest}: relative 1e-4).
 *
 * <p>One instance per task thread; graphs are built per micro-batch size and kept.
 */
final class OrtMicroBatch implements AutoCloseable {
    private final FineTuner.Context c;
    private final OrtDevice device;
    private final Map<Integer, Built> built = new HashMap<>();

    /** A session, and the names of its inputs and outputs. */
    private record Built(OrtDevice.Session session, List<String> layers, Map<String, Integer> scaleInputs, List<String> accTensors,
                         List<String> outputs) {}

    OrtMicroBatch(FineTuner.Context c, OrtDevice device) {
        this.c = c;
        this.device = device;
    }

    OrtDevice device() {
        return device;
    }

    FineTuner.Context context() {
        return c;
    }

    FineTuner.Grad run(float[] p, FineTuner.Micro m) {
        Student.Pass pass = c.student().pass(p);
        return run(pass, pass.graph(), m);
    }

    /** {@link #run(float[], FineTuner.Micro)} of the student {@code pass} running as graph {@code g} (its weights). */
    FineTuner.Grad run(Student.Pass pass, Graph g, FineTuner.Micro m) {
        int n = m.images().length;
        Student st = c.student();
        float[] p = pass.p;
        Built b = built.computeIfAbsent(n, k -> build(g, pass, k));
        Map<String, OrtDevice.Input> in = new LinkedHashMap<>();
        in.put("x", new OrtDevice.Input(FineTuner.images(c.pool(), m), OnnxGraphs.dims(n, g.inputShape())));
        Map<String, Node> nodes = new HashMap<>();
        for (Node node : g.nodes()) {
            nodes.put(node.id(), node);
        }
        for (int l = 0; l < b.layers().size(); l++) {
            Node node = nodes.get(b.layers().get(l));
            Tensor w = node.param("W");
            long[] dims = new long[w.shape().length];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = w.dim(i);
            }
            in.put("W" + l, new OrtDevice.Input(w.data(), dims));
            in.put("B" + l, new OrtDevice.Input(node.param("B").data(), new long[] {w.dim(0)}));
        }
        for (Map.Entry<String, Integer> e : b.scaleInputs().entrySet()) {
            in.put(e.getKey(), new OrtDevice.Input(new float[] {p[st.aOff + e.getValue()]}, new long[] {1}));
        }
        if (c.labelWeight() > 0) {
            int k = Tensor.size(g.shape(g.output()));
            float[] onehot = new float[n * k];
            for (int i = 0; i < n; i++) {
                onehot[i * k + c.pool().labels()[m.images()[i]]] = 1f;
            }
            in.put("onehot", new OrtDevice.Input(onehot, new long[] {n, k}));
        }
        Map<String, float[]> out = b.session().run(in, b.outputs());
        ParameterGradients pg = new ParameterGradients();
        for (int l = 0; l < b.layers().size(); l++) {
            float[] dw = out.get("dW" + l);
            if (dw != null) {
                pg.add(b.layers().get(l), dw, out.get("dB" + l));
            }
        }
        for (int j = 0; j < b.accTensors().size(); j++) {
            pass.quantizer.addStepGradient(b.accTensors().get(j), out.get("acc" + j)[0]);
        }
        float[] grad = new float[st.size()];
        pass.gradient(pg, grad);
        return new FineTuner.Grad(grad, out.get("loss")[0]);
    }

    private Built build(Graph g, Student.Pass pass, int n) {
        Student st = c.student();
        OnnxGraphs.Builder b = new OnnxGraphs.Builder();
        b.input("x", OnnxGraphs.dims(n, g.inputShape()));
        List<String> layers = new ArrayList<>(st.layers);
        Map<String, Integer> scaleInputs = new LinkedHashMap<>();
        List<String> accTensors = new ArrayList<>(), outputs = new ArrayList<>(List.of("loss"));
        Map<String, String> accNames = new LinkedHashMap<>();
        OnnxGraphs.Hooks hooks = new OnnxGraphs.Hooks() {
            private final Map<String, String[]> levels = new HashMap<>();

            @Override
            public String parameter(OnnxGraphs.Builder bb, Node node, String key) {
                int l = layers.indexOf(node.id());
                String name = key + l;
                Tensor w = node.param("W");
                long[] dims = new long[w.shape().length];
                for (int i = 0; i < dims.length; i++) {
                    dims[i] = w.dim(i);
                }
                bb.input(name, key.equals("W") ? dims : new long[] {w.dim(0)});
                return name;
            }

            private String scale(OnnxGraphs.Builder bb, String tensor, QParams a) {
                Integer idx = st.learnedPoint(tensor);
                if (idx == null) {
                    return bb.scalar(a.scale());
                }
                String name = "s" + idx;
                if (!scaleInputs.containsKey(name)) {
                    scaleInputs.put(name, idx);
                    bb.input(name, 1);
                }
                return name;
            }

            @Override
            public String quantize(OnnxGraphs.Builder bb, String tensor, String y) {
                QParams a = pass.q.activations().get(tensor);
                if (a == null) {
                    return y;
                }
                String s = scale(bb, tensor, a);
                String v = bb.op("Div", List.of(y, s));
                String f = bb.op("Floor", List.of(v));
                // Math.round (half up) exactly: floor(v), plus one where v - floor(v) >= 0.5 (that difference is exact in float)
                String r = bb.op("Where", List.of(bb.op("GreaterOrEqual", List.of(bb.op("Sub", List.of(v, f)), bb.scalar(0.5f))),
                        bb.op("Add", List.of(f, bb.scalar(1f))), f));
                float lo = a.qmin() - a.zeroPoint(), hi = a.qmax() - a.zeroPoint();
                levels.put(tensor, new String[] {v, r});
                return bb.op("Mul", List.of(bb.op("Min", List.of(bb.op("Max", List.of(r, bb.scalar(lo))), bb.scalar(hi))), s));
            }

            @Override
            public String quantizeBackward(OnnxGraphs.Builder bb, String tensor, String dy, String raw) {
                QParams a = pass.q.activations().get(tensor);
                String[] vr = levels.get(tensor);
                float lo = a.qmin() - a.zeroPoint(), hi = a.qmax() - a.zeroPoint();
                String below = bb.op("Less", List.of(vr[1], bb.scalar(lo))), above = bb.op("Greater", List.of(vr[1], bb.scalar(hi)));
                String inside = st.pact ? bb.scalar(0f) : bb.op("Sub", List.of(vr[1], vr[0]));
                String term = bb.op("Where", List.of(below, bb.scalar(lo), bb.op("Where", List.of(above, bb.scalar(hi), inside))));
                String acc = "acc" + accTensors.size();
                accTensors.add(tensor);
                // partial sums over each image's pixels in float, the rest in double (the CPU engine sums in double)
                String prod = bb.op("Mul", List.of(dy, term));
                int rank = g.shape(tensor).length + 1;
                String part = rank > 2 ? bb.op("ReduceSum", List.of(prod, bb.longs(java.util.stream.LongStream.range(2, rank).toArray())),
                        OnnxGraphs.intAttr("keepdims", 0)) : prod;
                String wide = bb.op("ReduceSum", List.of(bb.op("Cast", List.of(part), OnnxGraphs.intAttr("to", 11))), OnnxGraphs.intAttr("keepdims", 0));
                bb.named("Cast", List.of(wide), acc, OnnxGraphs.intAttr("to", 1));
                accNames.put(tensor, acc);
                return bb.op("Where", List.of(bb.op("Or", List.of(below, above)), bb.scalar(0f), dy));
            }
        };
        OnnxGraphs.Values teacher = OnnxGraphs.forward(b, c.teacher(), "x", n);
        OnnxGraphs.Values student = OnnxGraphs.forward(b, g, "x", n, hooks);
        int k = Tensor.size(g.shape(g.output()));
        String tl = b.op("Reshape", List.of(teacher.of(c.teacher().output()), b.longs(n, k)));
        String sl = b.op("Reshape", List.of(student.of(g.output()), b.longs(n, k)));
        String invT = b.scalar((float) (1 / c.temperature()));
        String lt = b.op("LogSoftmax", List.of(b.op("Mul", List.of(tl, invT))), OnnxGraphs.intAttr("axis", 1));
        String ls = b.op("LogSoftmax", List.of(b.op("Mul", List.of(sl, invT))), OnnxGraphs.intAttr("axis", 1));
        String pt = b.op("Exp", List.of(lt)), ps = b.op("Exp", List.of(ls));
        double scale = 1.0 / c.batch();
        String kl = b.op("ReduceSum", List.of(b.op("Mul", List.of(pt, b.op("Sub", List.of(lt, ls))))), OnnxGraphs.intAttr("keepdims", 0));
        List<String> losses = new ArrayList<>(List.of(b.op("Mul", List.of(kl, b.scalar((float) (c.temperature() * c.temperature()))))));
        String seed = b.op("Mul", List.of(b.op("Sub", List.of(ps, pt)), b.scalar((float) (scale * c.temperature()))));
        if (c.labelWeight() > 0) {
            b.input("onehot", n, k);
            String l1 = b.op("LogSoftmax", List.of(sl), OnnxGraphs.intAttr("axis", 1));
            losses.add(b.op("Mul", List.of(b.op("ReduceSum", List.of(b.op("Mul", List.of(l1, "onehot"))), OnnxGraphs.intAttr("keepdims", 0)),
                    b.scalar((float) -c.labelWeight()))));
            seed = b.op("Add", List.of(seed, b.op("Mul", List.of(b.op("Sub", List.of(b.op("Exp", List.of(l1)), "onehot")),
                    b.scalar((float) (scale * c.labelWeight()))))));
        }
        Map<String, List<String>> seeds = new LinkedHashMap<>();
        seeds.put(g.output(), new ArrayList<>(List.of(b.op("Reshape", List.of(seed, b.longs(OnnxGraphs.dims(n, g.shape(g.output()))))))));
        if (c.featureWeight() > 0) {
            for (String tensor : st.features()) {
                int[] shape = g.shape(tensor);
                long[] axes = new long[shape.length];
                for (int a = 0; a < axes.length; a++) {
                    axes[a] = a + 1;
                }
                String ts = student.of(tensor), tt = teacher.of(tensor);
                String e = b.op("Add", List.of(b.op("ReduceSumSquare", List.of(tt), OnnxGraphs.ints("axes", toInts(axes)),
                        OnnxGraphs.intAttr("keepdims", 1)), b.scalar(1e-12f)));
                String diff = b.op("Sub", List.of(ts, tt));
                String d2 = b.op("ReduceSumSquare", List.of(diff), OnnxGraphs.ints("axes", toInts(axes)), OnnxGraphs.intAttr("keepdims", 1));
                losses.add(b.op("Mul", List.of(b.op("ReduceSum", List.of(b.op("Div", List.of(d2, e))), OnnxGraphs.intAttr("keepdims", 0)),
                        b.scalar((float) c.featureWeight()))));
                seeds.computeIfAbsent(tensor, t -> new ArrayList<>()).add(b.op("Mul", List.of(b.op("Div", List.of(diff, e)),
                        b.scalar((float) (scale * c.featureWeight() * 2)))));
            }
        }
        b.named("Reshape", List.of(OnnxGraphs.sum(b, losses), b.longs(1)), "loss");
        b.output("loss", 1);
        Map<String, String[]> params = new LinkedHashMap<>();
        OnnxGraphs.backward(b, g, student, seeds, hooks, params, false);
        for (int l = 0; l < layers.size(); l++) {
            String[] d = params.get(layers.get(l));
            if (d == null) {
                continue;
            }
            Tensor w = nodeOf(g, layers.get(l)).param("W");
            long[] dims = new long[w.shape().length];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = w.dim(i);
            }
            b.named("Identity", List.of(d[0]), "dW" + l);
            b.named("Identity", List.of(d[1]), "dB" + l);
            b.output("dW" + l, dims);
            b.output("dB" + l, w.dim(0));
            outputs.add("dW" + l);
            outputs.add("dB" + l);
        }
        for (int j = 0; j < accTensors.size(); j++) {
            b.output("acc" + j);
            outputs.add("acc" + j);
        }
        return new Built(device.open(b.model()), layers, scaleInputs, accTensors, outputs);
    }

    private static int[] toInts(long[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = (int) a[i];
        }
        return r;
    }

    private static Node nodeOf(Graph g, String id) {
        for (Node n : g.nodes()) {
            if (n.id().equals(id)) {
                return n;
            }
        }
        throw new IllegalArgumentException("no node " + id);
    }

    @Override
    public void close() {
        built.values().forEach(x -> x.session().close());
        built.clear();
    }
}
