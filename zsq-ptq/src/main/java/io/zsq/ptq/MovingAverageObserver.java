package io.zsq.ptq;

/**
 * Range = the mean over calibration batches of each batch's [min, max]: the moving-average min-max
 * observer (Jacob et al., CVPR 2018, with equal weights rather than an exponential decay, so that the
 * result does not depend on batch order and merging is adding sums). One {@code observe} call is one batch.
 */
public final class MovingAverageObserver {
    private MovingAverageObserver() {}

    public record Spec() implements ObserverSpec {
        @Override
        public ObserverSpec.Accumulator empty() {
            return new Acc(0, 0, 0);
        }

        @Override
        public String name() {
            return "movingavg";
        }
    }

    static final class Acc implements ObserverSpec.Accumulator {
        double sumMin, sumMax;
        long batches;

        Acc(double sumMin, double sumMax, long batches) {
            this.sumMin = sumMin;
            this.sumMax = sumMax;
            this.batches = batches;
        }

        @Override
        public void observe(float[] values) {
            if (values.length == 0) {
                return;
            }
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (float v : values) {
                if (Float.isNaN(v)) {
                    throw new IllegalArgumentException("NaN activation observed");
                }
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            sumMin += lo;
            sumMax += hi;
            batches++;
        }

        @Override
        public ObserverSpec.Accumulator merge(ObserverSpec.Accumulator other) {
            Acc o = (Acc) other;
            return new Acc(sumMin + o.sumMin, sumMax + o.sumMax, batches + o.batches);
        }

        @Override
        public double[] range(int bits) {
            return batches == 0 ? new double[] {0, 0} : new double[] {sumMin / batches, sumMax / batches};
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Acc a && a.batches == batches && Double.compare(a.sumMin, sumMin) == 0 && Double.compare(a.sumMax, sumMax) == 0;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(batches) * 31 + Double.hashCode(sumMax);
        }
    }
}
