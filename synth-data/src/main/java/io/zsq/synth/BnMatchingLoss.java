package io.zsq.synth;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ZeroQ's objective: for every BatchNorm layer, the squared distance of the batch's per-channel mean
 * and standard deviation of the pre-BN activation from the stored running mean and
 * {@code sqrt(running_var + eps)}, averaged over channels; plus the same for the input against
 * (0, 1). Summed over layers.
 */
public final class BnMatchingLoss {

    /** One matched tensor: its stored per-channel mean and std. */
    public record Target(String layer, String tensor, float[] mean, float[] std, float eps) {}

    private final List<Target> targets;

    public BnMatchingLoss(Graph g) {
        targets = new ArrayList<>();
        int c = g.inputShape()[0];
        float[] zero = new float[c], one = new float[c];
        java.util.Arrays.fill(one, 1f);
        targets.add(new Target("input", g.input(), zero, one, 0f));
        for (Node n : g.nodes()) {
            if (n.op() == OpType.BATCH_NORM) {
                float eps = n.f("epsilon", 1e-5f);
                float[] v = n.param("var").data();
                float[] s = new float[v.length];
                for (int i = 0; i < v.length; i++) {
                    s[i] = (float) Math.sqrt(v[i] + eps);
                }
                targets.add(new Target(n.id(), n.input(), n.param("mean").data(), s, eps));
            }
        }
        if (targets.size() == 1) {
            throw new IllegalArgumentException("the graph has no BatchNorm layers to match (was it already folded?)");
        }
    }

    public List<Target> targets() {
        return targets;
    }

    /** Loss per target (in {@link #targets()} order) and the seeds dLoss/dTensor for backward. */
    public record Value(double[] perLayer, Map<String, float[]> seeds) {
        public double total() {
            double s = 0;
            for (double v : perLayer) {
                s += v;
            }
            return s;
        }

        public Map<String, Double> byLayer(List<Target> targets) {
            Map<String, Double> m = new LinkedHashMap<>();
            for (int i = 0; i < targets.size(); i++) {
                m.put(targets.get(i).layer(), perLayer[i]);
            }
            if (perLayer.length > targets.size()) {
                m.put("label_ce", perLayer[targets.size()]);
            }
            return m;
        }
    }

    private static Value withLabelLoss(Graph g, Fp32Engine.Trace t, Value v, double w, int firstSample) {
        float[] z = t.get(g.output());
        int classes = z.length / t.batch;
        float[] d = new float[z.length];
        double ce = 0;
        for (int i = 0; i < t.batch; i++) {
            int y = (firstSample + i) % classes;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < classes; j++) {
                max = Math.max(max, z[i * classes + j]);
            }
            for (int j = 0; j < classes; j++) {
                sum += Math.exp(z[i * classes + j] - max);
            }
            ce += Math.log(sum) + max - z[i * classes + y];
            for (int j = 0; j < classes; j++) {
                double p = Math.exp(z[i * classes + j] - max) / sum;
                d[i * classes + j] = (float) (w * (p - (j == y ? 1 : 0)) / t.batch);
            }
        }
        Map<String, float[]> seeds = new HashMap<>(v.seeds());
        float[] prev = seeds.get(g.output());
        if (prev != null) {
            for (int i = 0; i < d.length; i++) {
                d[i] += prev[i];
            }
        }
        seeds.put(g.output(), d);
        double[] per = java.util.Arrays.copyOf(v.perLayer(), v.perLayer().length + 1);
        per[per.length - 1] = w * ce / t.batch;
        return new Value(per, seeds);
    }

    public Value evaluate(Graph g, Fp32Engine.Trace t) {
        double[] per = new double[targets.size()];
        Map<String, float[]> seeds = new HashMap<>();
        for (int k = 0; k < targets.size(); k++) {
            Target tg = targets.get(k);
            float[] z = t.get(tg.tensor());
            int[] shape = g.shape(tg.tensor());
            int ch = shape[0], plane = z.length / t.batch / ch;
            long m = (long) t.batch * plane;
            float[] d = new float[z.length];
            double loss = 0;
            for (int c = 0; c < ch; c++) {
                double sum = 0, sq = 0;
                for (int img = 0; img < t.batch; img++) {
                    int base = (img * ch + c) * plane;
                    for (int i = 0; i < plane; i++) {
                        double v = z[base + i];
                        sum += v;
                        sq += v * v;
                    }
                }
                double mean = sum / m;
                double var = Math.max(sq / m - mean * mean, 0);
                double std = Math.sqrt(var + tg.eps() + 1e-12);
                double dm = mean - tg.mean()[c], ds = std - tg.std()[c];
                loss += (dm * dm + ds * ds) / ch;
                // d/dz_i of (dm^2 + ds^2)/C = (2 dm / M + 2 ds (z_i - mean) / (M std)) / C
                double a = 2 * dm / m / ch, b = 2 * ds / (m * std) / ch;
                for (int img = 0; img < t.batch; img++) {
                    int base = (img * ch + c) * plane;
                    for (int i = 0; i < plane; i++) {
                        d[base + i] = (float) (a + b * (z[base + i] - mean));
                    }
                }
            }
            per[k] = loss;
            float[] prev = seeds.get(tg.tensor());
            if (prev != null) {
                for (int i = 0; i < d.length; i++) {
                    d[i] += prev[i];
                }
            }
            seeds.put(tg.tensor(), d);
        }
        return new Value(per, seeds);
    }

    /** Loss and dLoss/dInput at {@code x}. */
    public Value lossAndInputGradient(Graph g, float[] x, int batch, float[] gradOut) {
        return lossAndInputGradient(g, x, batch, gradOut, 0, 0);
    }

    /**
     * Loss and dLoss/dInput at {@code x}; with {@code labelWeight > 0}, plus {@code labelWeight} times the
     * mean cross-entropy of the output logits towards class {@code (firstSample + i) mod classes} for
     * sample i (its value is the last entry of {@link Value#perLayer()}, named {@code label_ce}).
     */
    public Value lossAndInputGradient(Graph g, float[] x, int batch, float[] gradOut, double labelWeight, int firstSample) {
        Fp32Engine.Trace t = Fp32Engine.forward(g, x, batch, null);
        Value v = evaluate(g, t);
        if (labelWeight > 0) {
            v = withLabelLoss(g, t, v, labelWeight, firstSample);
        }
        Map<String, float[]> seeds = new HashMap<>(v.seeds());
        float[] dIn = seeds.remove(g.input());
        float[] dx = Fp32Engine.backward(g, t, seeds);
        if (dIn != null) {
            for (int i = 0; i < dx.length; i++) {
                dx[i] += dIn[i];
            }
        }
        System.arraycopy(dx, 0, gradOut, 0, dx.length);
        return v;
    }
}
