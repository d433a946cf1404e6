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

    static ObserverSpec parse(String s) {
        switch (s) {
            case "minmax": return new MinMaxObserver.Spec();
            case "movingavg": return new MovingAverageObserver.Spec();
            case "kl":
            case "entropy": return new HistogramObserver.Spec("kl", 0);
            case "mse":
            case "omse": return new HistogramObserver.Spec("mse", 0);
            case "auto": return new HistogramObserver.Spec("auto", 0);
            default: break;
        }
        if (s.equals("percentile") || s.startsWith("percentile:")) {
            try {
                double p = s.contains(":") ? Double.parseDouble(s.substring(s.indexOf(':') + 1)) : 99.99;
                return new HistogramObserver.Spec("percentile", p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("observer '" + s + "': percentile:P takes a number, e.g. percentile:99.99");
            }
        }
        throw new IllegalArgumentException("unknown observer '" + s + "' (auto, minmax, movingavg, percentile[:P], kl, mse)");
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
