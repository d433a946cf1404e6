package io.zsq.synth;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.exec.OnnxGraphs;
import io.zsq.core.exec.OrtDevice;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link BnMatchingLoss}'s objective and input gradient as one ONNX graph run by ONNX Runtime
 * ({@link OrtDevice}: its CPU provider, or CUDA on a GPU): the forward pass, every term of the objective
 * (the BN-statistics terms with DSG's slack and per-sample layers, the label cross-entropy, total
 * variation and L2), their seeds, and the reverse mode to the input, so one run per step moves only the
 * images in and their gradient out. The terms and the gradient are the Vector API engine's up to float
 * rounding ({@code OrtBnMatchingLossTest}: relative 1e-4); the statistics are taken in two passes (mean,
 * then the mean squared deviation) in float where the Java loss sums in double.
 *
 * <p>A graph is built per batch size and objective (the last batch of a set is often smaller) and kept.
 * One instance serves one loop on one thread.
 */
public final class OrtBnMatchingLoss implements SynthesisLoss, AutoCloseable {
    private final Graph graph;
    private final List<BnMatchingLoss.Target> targets;
    private final OrtDevice device;
    private final Map<String, Built> sessions = new HashMap<>();

    private record Built(OrtDevice.Session session, List<String> terms) {}

    public OrtBnMatchingLoss(Graph g, OrtDevice device) {
        this.graph = Fp32Engine.fuseActivationsIntoBatchNorm(g); // as the Java loss runs it: the loss reads BN inputs and the output only
        this.targets = new BnMatchingLoss(g).targets();
        this.device = device;
    }

    public OrtDevice device() {
        return device;
    }

    @Override
    public BnMatchingLoss.Value lossAndInputGradient(Graph g, float[] x, int batch, float[] gradOut, Objective obj, int firstSample) {
        Built b = sessions.computeIfAbsent(batch + "/" + obj, k -> build(batch, obj));
        Map<String, OrtDevice.Input> in = new LinkedHashMap<>();
        in.put("x", new OrtDevice.Input(x, OnnxGraphs.dims(batch, graph.inputShape())));
        int layers = targets.size() - 1;
        if (obj.sampleWeight() > 0) {
            float[] mask = new float[layers * batch];
            for (int i = 0; i < batch; i++) {
                mask[((firstSample + i) % layers) * batch + i] = 1f;
            }
            in.put("sample_mask", new OrtDevice.Input(mask, new long[] {layers, batch}));
        }
        if (obj.labelWeight() > 0) {
            int classes = Tensor.size(graph.shape(graph.output()));
            float[] onehot = new float[batch * classes];
            for (int i = 0; i < batch; i++) {
                onehot[i * classes + (firstSample + i) % classes] = 1f;
            }
            in.put("onehot", new OrtDevice.Input(onehot, new long[] {batch, classes}));
        }
        Map<String, float[]> out = b.session().run(in, List.of("terms", "dx"));
        System.arraycopy(out.get("dx"), 0, gradOut, 0, gradOut.length);
        float[] t = out.get("terms");
        Map<String, Double> terms = new LinkedHashMap<>();
        for (int i = 0; i < t.length; i++) {
            terms.merge(b.terms().get(i), (double) t[i], Double::sum);
        }
        return new BnMatchingLoss.Value(terms, Map.of());
    }

    private Built build(int batch, Objective obj) {
        OnnxGraphs.Builder b = new OnnxGraphs.Builder();
        long[] xd = OnnxGraphs.dims(batch, graph.inputShape());
        b.input("x", xd);
        OnnxGraphs.Values v = OnnxGraphs.forward(b, graph, "x", batch);
        Map<String, List<String>> seeds = new LinkedHashMap<>();
        List<String> names = new ArrayList<>(), values = new ArrayList<>();
        int layers = targets.size() - 1;
        if (obj.sampleWeight() > 0) {
            b.input("sample_mask", layers, batch);
        }
        for (int k = 0; k < targets.size(); k++) {
            BnMatchingLoss.Target tg = targets.get(k);
            String z = v.of(tg.tensor());
            int[] shape = graph.shape(tg.tensor());
            int ch = shape[0], plane = Tensor.size(shape) / ch;
            Term all = term(b, z, shape, true, (long) batch * plane, tg, obj.margin(), 1.0);
            String loss = b.op("ReduceSum", List.of(all.loss()), OnnxGraphs.intAttr("keepdims", 0));
            String seed = all.seed();
            if (obj.sampleWeight() > 0 && k > 0) {
                Term one = term(b, z, shape, false, plane, tg, obj.margin(), obj.sampleWeight());
                long[] md = new long[shape.length + 1];
                java.util.Arrays.fill(md, 1);
                md[0] = batch;
                String row = b.op("Gather", List.of("sample_mask", b.longsShaped(new long[] {k - 1})), OnnxGraphs.intAttr("axis", 0));
                String m = b.op("Reshape", List.of(row, b.longs(md)));
                loss = b.op("Add", List.of(loss, b.op("ReduceSum", List.of(b.op("Mul", List.of(one.loss(), m))), OnnxGraphs.intAttr("keepdims", 0))));
                seed = b.op("Add", List.of(seed, b.op("Mul", List.of(one.seed(), m))));
            }
            seeds.computeIfAbsent(tg.tensor(), key -> new ArrayList<>()).add(seed);
            names.add(tg.layer());
            values.add(loss);
        }
        if (obj.labelWeight() > 0) {
            int classes = Tensor.size(graph.shape(graph.output()));
            b.input("onehot", batch, classes);
            String logits = b.op("Reshape", List.of(v.of(graph.output()), b.longs(batch, classes)));
            String ls = b.op("LogSoftmax", List.of(logits), OnnxGraphs.intAttr("axis", 1));
            String ce = b.op("ReduceSum", List.of(b.op("Mul", List.of(ls, "onehot"))), OnnxGraphs.intAttr("keepdims", 0));
            names.add("label_ce");
            values.add(b.op("Mul", List.of(ce, b.scalar((float) (-obj.labelWeight() / batch)))));
            String p = b.op("Softmax", List.of(logits), OnnxGraphs.intAttr("axis", 1));
            String d = b.op("Mul", List.of(b.op("Sub", List.of(p, "onehot")), b.scalar((float) (obj.labelWeight() / batch))));
            seeds.computeIfAbsent(graph.output(), key -> new ArrayList<>())
                    .add(b.op("Reshape", List.of(d, b.longs(OnnxGraphs.dims(batch, graph.shape(graph.output()))))));
        }
        List<String> dx = new ArrayList<>();
        dx.add(OnnxGraphs.backward(b, graph, v, seeds)); // the input's own seed included
        if (obj.tvWeight() > 0) {
            int[] s = graph.inputShape();
            long count = (long) batch * s[0] * ((long) s[1] * (s[2] - 1) + (long) (s[1] - 1) * s[2]);
            String eh = neighbourDifference(b, "x", 3, s[2]), ev = neighbourDifference(b, "x", 2, s[1]);
            String sq = b.op("Add", List.of(b.op("ReduceSumSquare", List.of(eh), OnnxGraphs.intAttr("keepdims", 0)),
                    b.op("ReduceSumSquare", List.of(ev), OnnxGraphs.intAttr("keepdims", 0))));
            names.add("tv");
            values.add(b.op("Mul", List.of(sq, b.scalar((float) (obj.tvWeight() / count)))));
            String k = b.scalar((float) (obj.tvWeight() * 2 / count));
            dx.add(b.op("Mul", List.of(b.op("Add", List.of(spread(b, eh, 3), spread(b, ev, 2))), k)));
        }
        if (obj.l2Weight() > 0) {
            long len = batch * (long) Tensor.size(graph.inputShape());
            names.add("l2");
            values.add(b.op("Mul", List.of(b.op("ReduceSumSquare", List.of("x"), OnnxGraphs.intAttr("keepdims", 0)), b.scalar((float) (obj.l2Weight() / len)))));
            dx.add(b.op("Mul", List.of("x", b.scalar((float) (obj.l2Weight() * 2 / len)))));
        }
        List<String> ones = values.stream().map(t -> b.op("Reshape", List.of(t, b.longs(1)))).toList();
        b.named("Identity", List.of(ones.size() == 1 ? ones.get(0) : b.op("Concat", ones, OnnxGraphs.intAttr("axis", 0))), "terms");
        b.named("Identity", List.of(OnnxGraphs.sum(b, dx)), "dx");
        b.output("terms", names.size());
        b.output("dx", xd);
        return new Built(device.open(b.model()), names);
    }

    /** A BN-statistics term: its loss (per channel summed: a scalar-shaped tensor over all images, or per image) and its seed. */
    private record Term(String loss, String seed) {}

    /**
     * {@code weight/C * sum_c [f(mean_c - mu_c)^2 + f(std_c - sigma_c)^2]} of {@code z}, the statistics over
     * the batch and the pixels ({@code overBatch}) or per image over its pixels; {@code m} values per statistic.
     */
    private static Term term(OnnxGraphs.Builder b, String z, int[] shape, boolean overBatch, long m, BnMatchingLoss.Target tg, double margin,
                             double weight) {
        int ch = shape[0];
        List<Integer> axes = new ArrayList<>();
        if (overBatch) {
            axes.add(0);
        }
        for (int a = 2; a <= shape.length; a++) {
            axes.add(a);
        }
        long[] cd = new long[shape.length + 1];
        java.util.Arrays.fill(cd, 1);
        cd[1] = ch;
        String mu, cen, var;
        if (axes.isEmpty()) { // one value per statistic: a per-image term of a [C] tensor
            mu = z;
            cen = b.op("Sub", List.of(z, z));
            var = cen;
        } else {
            int[] ax = axes.stream().mapToInt(Integer::intValue).toArray();
            mu = b.op("ReduceMean", List.of(z), OnnxGraphs.ints("axes", ax), OnnxGraphs.intAttr("keepdims", 1));
            cen = b.op("Sub", List.of(z, mu));
            var = b.op("ReduceMean", List.of(b.op("Mul", List.of(cen, cen))), OnnxGraphs.ints("axes", ax), OnnxGraphs.intAttr("keepdims", 1));
        }
        String std = b.op("Sqrt", List.of(b.op("Add", List.of(var, b.scalar((float) (tg.eps() + 1e-12))))));
        String dm = b.op("Sub", List.of(mu, b.constant("mean", tg.mean(), cd)));
        String ds = b.op("Sub", List.of(std, b.constant("std", tg.std(), cd)));
        if (margin > 0) {
            float[] slack = new float[ch];
            for (int c = 0; c < ch; c++) {
                slack[c] = (float) (margin * tg.std()[c]);
            }
            String s = b.constant("slack", slack, cd);
            dm = shrink(b, dm, s);
            ds = shrink(b, ds, s);
        }
        String sq = b.op("Add", List.of(b.op("Mul", List.of(dm, dm)), b.op("Mul", List.of(ds, ds))));
        long[] keep = new long[shape.length];
        for (int a = 1; a <= shape.length; a++) {
            keep[a - 1] = a;
        }
        String loss = b.op("Mul", List.of(b.op("ReduceSum", List.of(sq, b.longs(keep)), OnnxGraphs.intAttr("keepdims", 1)), b.scalar((float) (weight / ch))));
        String seed = b.op("Mul", List.of(b.op("Add", List.of(dm, b.op("Div", List.of(b.op("Mul", List.of(ds, cen)), std)))),
                b.scalar((float) (2 * weight / ((double) m * ch)))));
        return new Term(loss, seed);
    }

    /** {@code sign(e) max(|e| - s, 0)}. */
    private static String shrink(OnnxGraphs.Builder b, String e, String s) {
        return b.op("Sub", List.of(b.op("Relu", List.of(b.op("Sub", List.of(e, s)))), b.op("Relu", List.of(b.op("Sub", List.of(b.op("Neg", List.of(e)), s))))));
    }

    /** {@code x[.., i + 1] - x[.., i]} along {@code axis} of size {@code n}. */
    private static String neighbourDifference(OnnxGraphs.Builder b, String x, int axis, int n) {
        String hi = b.op("Slice", List.of(x, b.longs(1), b.longs(n), b.longs(axis)));
        String lo = b.op("Slice", List.of(x, b.longs(0), b.longs(n - 1), b.longs(axis)));
        return b.op("Sub", List.of(hi, lo));
    }

    /** The total variation's gradient from the differences e along {@code axis}: {@code e[i - 1] - e[i]} at i. */
    private static String spread(OnnxGraphs.Builder b, String e, int axis) {
        long[] before = new long[8], after = new long[8];
        before[axis] = 1;
        after[axis + 4] = 1;
        return b.op("Sub", List.of(b.op("Pad", List.of(e, b.longs(before))), b.op("Pad", List.of(e, b.longs(after)))));
    }

    @Override
    public void close() {
        sessions.values().forEach(s -> s.session().close());
        sessions.clear();
    }
}
