package io.zsq.synth;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.exec.Workspace;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The synthesis objective. Its core is ZeroQ's: for every BatchNorm layer, the squared distance of the
 * batch's per-channel mean and standard deviation of the pre-BN activation from the stored running mean
 * and {@code sqrt(running_var + eps)}, averaged over channels; plus the same for the input against
 * (0, 1); summed over layers. An {@link Objective} adds slack, per-sample layer terms, the label
 * cross-entropy and image priors.
 *
 * <p>{@link #lossAndInputGradient} reuses one {@link Workspace} from call to call, so an instance serves
 * one optimization loop on one thread; the {@link Value} it returns holds the terms only (its seeds are
 * consumed by the backward pass).
 */
public final class BnMatchingLoss implements SynthesisLoss {

    /** One matched tensor: its stored per-channel mean and std. */
    public record Target(String layer, String tensor, float[] mean, float[] std, float eps) {}

    private final List<Target> targets;
    private final Workspace workspace = new Workspace();
    private Graph lastGraph, runGraph;

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

    /** The loss by term (BN layers by id, then {@code label_ce}, {@code tv}, {@code l2} when used) and dLoss/dTensor seeds. */
    public record Value(Map<String, Double> terms, Map<String, float[]> seeds) {
        public double total() {
            double s = 0;
            for (double v : terms.values()) {
                s += v;
            }
            return s;
        }
    }

    /** Plain ZeroQ terms of a forward pass. */
    public Value evaluate(Graph g, Fp32Engine.Trace t) {
        return evaluate(g, t, Objective.of(Method.ZEROQ), 0);
    }

    /** BN-matching terms with the objective's slack margin and per-sample layer enhancement. */
    public Value evaluate(Graph g, Fp32Engine.Trace t, Objective obj, int firstSample) {
        return evaluate(g, t, obj, firstSample, null);
    }

    private Value evaluate(Graph g, Fp32Engine.Trace t, Objective obj, int firstSample, Workspace ws) {
        Map<String, Double> terms = new LinkedHashMap<>();
        Map<String, float[]> seeds = new HashMap<>();
        int[] all = new int[t.batch];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        int layers = targets.size() - 1;
        for (int k = 0; k < targets.size(); k++) {
            Target tg = targets.get(k);
            float[] z = t.get(tg.tensor());
            int ch = g.shape(tg.tensor())[0], plane = z.length / t.batch / ch;
            boolean fresh = !seeds.containsKey(tg.tensor()); // a fresh seed is written, not added to: no zeroing pass
            float[] d = seeds.computeIfAbsent(tg.tensor(), key -> ws == null ? new float[z.length] : ws.floatsUnzeroed(z.length));
            double loss = term(z, ch, plane, all, tg, obj.margin(), 1.0, d, fresh);
            if (obj.sampleWeight() > 0 && k > 0) {
                for (int i = 0; i < t.batch; i++) {
                    if ((firstSample + i) % layers == k - 1) {
                        loss += term(z, ch, plane, new int[] {i}, tg, obj.margin(), obj.sampleWeight(), d, false);
                    }
                }
            }
            terms.merge(tg.layer(), loss, Double::sum);
        }
        return new Value(terms, seeds);
    }

    /**
     * weight * (1/C) sum_c [f(mean_c - mu_c)^2 + f(std_c - sigma_c)^2] over the given images, with
     * f(e) = sign(e) max(|e| - margin * sigma_c, 0); adds its gradient into {@code d}, or with {@code assign}
     * (all images, a fresh array) writes it there.
     */
    private static double term(float[] z, int ch, int plane, int[] images, Target tg, double margin, double weight, float[] d, boolean assign) {
        long m = (long) images.length * plane;
        // Per image, float partial sums over runs of `reps` pixels (ch * reps contiguous values, so the
        // loops are long enough for C2 to vectorize), folded per channel and accumulated in double.
        int reps = Math.max(1, Math.min(plane, 256 / ch)), run = reps * ch, runs = plane / reps;
        double[] sum = new double[ch], sq = new double[ch];
        float[] fs = new float[run], fq = new float[run];
        for (int img : images) {
            java.util.Arrays.fill(fs, 0f);
            java.util.Arrays.fill(fq, 0f);
            int base = img * plane * ch; // NHWC: channel is the fastest index
            for (int r = 0; r < runs; r++, base += run) {
                for (int j = 0; j < run; j++) {
                    float v = z[base + j];
                    fs[j] += v;
                    fq[j] += v * v;
                }
            }
            for (int j = 0; base + j < (img + 1) * plane * ch; j++) { // the last pixels, fewer than reps
                float v = z[base + j];
                fs[j] += v;
                fq[j] += v * v;
            }
            for (int j = 0; j < run; j++) {
                sum[j % ch] += fs[j];
                sq[j % ch] += fq[j];
            }
        }
        double loss = 0;
        float[] a = new float[run], b = new float[run];
        boolean any = false;
        for (int c = 0; c < ch; c++) {
            double mu = sum[c] / m;
            double var = Math.max(sq[c] / m - mu * mu, 0);
            double std = Math.sqrt(var + tg.eps() + 1e-12);
            double slack = margin * tg.std()[c];
            double dm = shrink(mu - tg.mean()[c], slack), ds = shrink(std - tg.std()[c], slack);
            loss += weight * (dm * dm + ds * ds) / ch;
            // d/dz_i of (dm^2 + ds^2)/C = (2 dm / M + 2 ds (z_i - mean) / (M std)) / C = a_c + b_c z_i
            double bc = weight * 2 * ds / (m * std) / ch;
            for (int j = c; j < run; j += ch) {
                a[j] = (float) (weight * 2 * dm / m / ch - bc * mu);
                b[j] = (float) bc;
            }
            any |= dm != 0 || ds != 0;
        }
        if (!any) {
            if (assign) {
                java.util.Arrays.fill(d, 0f);
            }
            return loss;
        }
        for (int img : images) {
            int base = img * plane * ch, end = base + plane * ch;
            if (assign) {
                for (; base + run <= end; base += run) {
                    for (int j = 0; j < run; j++) {
                        d[base + j] = a[j] + b[j] * z[base + j];
                    }
                }
                for (int j = 0; base + j < end; j++) {
                    d[base + j] = a[j] + b[j] * z[base + j];
                }
                continue;
            }
            for (; base + run <= end; base += run) {
                for (int j = 0; j < run; j++) {
                    d[base + j] += a[j] + b[j] * z[base + j];
                }
            }
            for (int j = 0; base + j < end; j++) {
                d[base + j] += a[j] + b[j] * z[base + j];
            }
        }
        return loss;
    }

    private static double shrink(double e, double slack) {
        return e > slack ? e - slack : (e < -slack ? e + slack : 0);
    }

    /** Plain ZeroQ loss and dLoss/dInput at {@code x}. */
    public Value lossAndInputGradient(Graph g, float[] x, int batch, float[] gradOut) {
        return lossAndInputGradient(g, x, batch, gradOut, Objective.of(Method.ZEROQ), 0);
    }

    /**
     * The objective's loss and dLoss/dInput at {@code x}: BN terms, then (if weighted) the label
     * cross-entropy towards class {@code (firstSample + i) mod classes} for sample i, total variation
     * (mean squared difference of horizontal and vertical neighbours) and L2 (mean square) of the input.
     */
    @Override
    public Value lossAndInputGradient(Graph g, float[] x, int batch, float[] gradOut, Objective obj, int firstSample) {
        workspace.recycle(); // the previous call's trace, gradients and seeds
        if (g != lastGraph) {
            lastGraph = g;
            runGraph = Fp32Engine.fuseActivationsIntoBatchNorm(g);
        }
        g = runGraph; // the loss reads BN inputs and the output only
        Fp32Engine.Trace t = Fp32Engine.forward(g, x, batch, null, workspace);
        Value v = evaluate(g, t, obj, firstSample, workspace);
        Map<String, Double> terms = new LinkedHashMap<>(v.terms());
        Map<String, float[]> seeds = new HashMap<>(v.seeds());
        if (obj.labelWeight() > 0) {
            terms.put("label_ce", labelTerm(t.get(g.output()), batch, obj.labelWeight(), firstSample, seeds, g.output()));
        }
        float[] dx = Fp32Engine.backwardConsumingSeeds(g, t, seeds, workspace); // includes the seed on the input itself
        if (obj.tvWeight() > 0) {
            terms.put("tv", totalVariation(x, batch, g.inputShape(), obj.tvWeight(), dx));
        }
        if (obj.l2Weight() > 0) {
            double s = 0;
            for (int i = 0; i < x.length; i++) {
                s += (double) x[i] * x[i];
                dx[i] += (float) (obj.l2Weight() * 2 * x[i] / x.length);
            }
            terms.put("l2", obj.l2Weight() * s / x.length);
        }
        System.arraycopy(dx, 0, gradOut, 0, dx.length);
        return new Value(terms, Map.of()); // the seeds went into the backward pass
    }

    private static double labelTerm(float[] z, int batch, double w, int firstSample, Map<String, float[]> seeds, String out) {
        int classes = z.length / batch;
        float[] d = seeds.computeIfAbsent(out, k -> new float[z.length]);
        double ce = 0;
        for (int i = 0; i < batch; i++) {
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
                d[i * classes + j] += (float) (w * (p - (j == y ? 1 : 0)) / batch);
            }
        }
        return w * ce / batch;
    }

    private static double totalVariation(float[] x, int batch, int[] shape, double w, float[] dx) {
        int h = shape[1], wd = shape[2], planes = batch * shape[0];
        long count = (long) planes * ((long) h * (wd - 1) + (long) (h - 1) * wd);
        double s = 0, k = w * 2 / count;
        for (int p = 0; p < planes; p++) {
            int base = p * h * wd;
            for (int y = 0; y < h; y++) {
                for (int xx = 0; xx < wd; xx++) {
                    int i = base + y * wd + xx;
                    if (xx + 1 < wd) {
                        double e = x[i + 1] - x[i];
                        s += e * e;
                        dx[i + 1] += (float) (k * e);
                        dx[i] -= (float) (k * e);
                    }
                    if (y + 1 < h) {
                        double e = x[i + wd] - x[i];
                        s += e * e;
                        dx[i + wd] += (float) (k * e);
                        dx[i] -= (float) (k * e);
                    }
                }
            }
        }
        return w * s / count;
    }
}
