package io.zsq.ptq;

import java.io.Serializable;

/**
 * Immutable observer configuration; makes empty accumulators. {@code minmax}: the observed range.
 * {@code percentile:P}: the P-th and (100-P)-th percentiles (e.g. 99.99), from a histogram on a fixed
 * bin grid, so that merging two accumulators is adding their counts.
 */
public interface ObserverSpec extends Serializable {

    Accumulator empty();

    String name();

    static ObserverSpec parse(String s) {
        if (s.equals("minmax")) {
            return new MinMaxObserver.Spec();
        }
        if (s.startsWith("percentile")) {
            double p = s.contains(":") ? Double.parseDouble(s.substring(s.indexOf(':') + 1)) : 99.99;
            return new PercentileObserver.Spec(p);
        }
        throw new IllegalArgumentException("unknown observer '" + s + "' (minmax, percentile[:P])");
    }

    /** Observed state of one tensor. {@link #merge} is associative and commutative; {@code empty()} is its identity. */
    interface Accumulator extends Serializable {
        void observe(float[] values);

        /** A new accumulator holding both; neither argument changes. */
        Accumulator merge(Accumulator other);

        /** The calibrated range {@code [min, max]}. */
        double[] range();
    }
}
