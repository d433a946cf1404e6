package io.zsq.ptq;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Activation statistics read from the model instead of from data: the output of a layer whose
 * BatchNorm was folded into it is, per channel, {@code clamp(N(beta_c, gamma_c^2), lo, hi)} with the
 * BatchNorm's shift and scale and the fused activation's bounds (the assumption behind DFQ's
 * analytical bias correction). The tensor's distribution is the equal-weight mixture over channels;
 * it is fed to the same observer as calibration data would be, as {@code SAMPLES} stratified
 * quantiles per channel, so {@code kl}, {@code mse} and {@code percentile} apply unchanged. The BN
 * statistics were measured on the real training data, so these ranges do not depend on how well
 * the synthetic data imitates it.
 */
public final class BnRanges {
    /** Stratified samples per channel: quantiles {@code (k + 1/2) / SAMPLES} of the standard normal. */
    public static final int SAMPLES = 2048;

    private BnRanges() {}

    /** One accumulator per tensor produced by a layer with folded BatchNorm statistics. */
    public static Map<String, ObserverSpec.Accumulator> observe(Graph g, ObserverSpec spec) {
        double[] z = new double[SAMPLES];
        for (int k = 0; k < SAMPLES; k++) {
            z[k] = inverseNormal((k + 0.5) / SAMPLES);
        }
        Map<String, ObserverSpec.Accumulator> acc = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            if (n.param(Node.STATS_BETA) == null) {
                continue;
            }
            float[] beta = n.param(Node.STATS_BETA).data(), gamma = n.param(Node.STATS_GAMMA).data();
            float lo = n.f("fusedMin", Float.NEGATIVE_INFINITY), hi = n.f("fusedMax", Float.POSITIVE_INFINITY);
            ObserverSpec.Accumulator a = spec.empty();
            float[] v = new float[SAMPLES];
            for (int c = 0; c < beta.length; c++) {
                double s = Math.abs(gamma[c]);
                for (int k = 0; k < SAMPLES; k++) {
                    v[k] = (float) Math.max(lo, Math.min(hi, beta[c] + s * z[k]));
                }
                a.observe(v);
            }
            acc.put(n.output(), a);
        }
        return acc;
    }

    /**
     * The standard normal quantile function: Acklam's rational approximations (relative error below
     * 1.2e-9), in the central region and in the two tails.
     */
    static double inverseNormal(double p) {
        if (!(p > 0 && p < 1)) {
            throw new IllegalArgumentException("probability must be in (0, 1), got " + p);
        }
        final double[] a = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00};
        final double[] b = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01};
        final double[] c = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00, 2.938163982698783e+00};
        final double[] d = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
        double pl = 0.02425;
        if (p < pl || p > 1 - pl) {
            double q = Math.sqrt(-2 * Math.log(p < pl ? p : 1 - p));
            double x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                    / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
            return p < pl ? x : -x;
        }
        double q = p - 0.5, r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
}
