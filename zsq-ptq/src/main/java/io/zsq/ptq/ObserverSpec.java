package io.zsq.ptq;

import java.io.Serializable;

/**
 * Immutable observer configuration; makes empty accumulators. {@code minmax}: the observed range.
 * {@code movingavg}: the mean over calibration batches of each batch's min and max. {@code
 * percentile:P}: the P-th and (100-P)-th percentiles (e.g. 99.99); {@code kl}: the entropy
 * (KL-divergence) threshold; {@code mse}: the MSE-optimal clipping range; the last three from one
 * histogram on a fixed bin grid, so that merging two accumulators is adding their counts. {@code auto}:
 * min-max at 8 bits, mse below.
 */
public interface ObserverSpec extends Serializable {

    Accumulator empty();

    String name();

    /** The one parser of observer names ({@code --observer}); {@link #name()} writes them back. */
    static ObserverSpec parse(String text) {
        String s = text.trim().toLowerCase(java.util.Locale.ROOT);
        switch (s) {
            case "minmax": return new MinMaxObserver.Spec();
            case "movingavg": return new MovingAverageObserver.Spec();
            case "kl":
            case "entropy": return new HistogramObserver.Spec(HistogramObserver.Method.KL, 0);
            case "mse":
            case "omse": return new HistogramObserver.Spec(HistogramObserver.Method.MSE, 0);
            case "auto": return new HistogramObserver.Spec(HistogramObserver.Method.AUTO, 0);
            default: break;
        }
        if (s.equals("percentile") || s.startsWith("percentile:")) {
            double p;
            try {
                p = s.contains(":") ? Double.parseDouble(s.substring(s.indexOf(':') + 1)) : 99.99;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--observer '" + text + "': percentile:P takes a number, e.g. percentile:99.99");
            }
            if (!(p > 50 && p <= 100)) {
                throw new IllegalArgumentException("--observer '" + text + "': percentile:P needs 50 < P <= 100");
            }
            return new HistogramObserver.Spec(HistogramObserver.Method.PERCENTILE, p);
        }
        throw new IllegalArgumentException("--observer must be auto, minmax, movingavg, percentile[:P], kl or mse, not '" + text + "'");
    }

    /** Observed state of one tensor. {@link #merge} is associative and commutative; {@code empty()} is its identity. */
    interface Accumulator extends Serializable {
        void observe(float[] values);

        /** A new accumulator holding both; neither argument changes. */
        Accumulator merge(Accumulator other);

        /** The calibrated range {@code [min, max]} for a quantizer of {@code bits} (kl and mse depend on it). */
        double[] range(int bits);
    }
}
