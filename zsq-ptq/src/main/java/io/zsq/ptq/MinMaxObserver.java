package io.zsq.ptq;

/** Range = observed [min, max]. */
public final class MinMaxObserver {
    private MinMaxObserver() {}

    public record Spec() implements ObserverSpec {
        @Override
        public ObserverSpec.Accumulator empty() {
            return new Acc(Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);
        }

        @Override
        public String name() {
            return "minmax";
        }
    }

    static final class Acc implements ObserverSpec.Accumulator {
        double min, max;

        Acc(double min, double max) {
            this.min = min;
            this.max = max;
        }

        @Override
        public void observe(float[] values) {
            for (float v : values) {
                if (Float.isNaN(v)) {
                    throw new IllegalArgumentException("NaN activation observed");
                }
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }

        @Override
        public ObserverSpec.Accumulator merge(ObserverSpec.Accumulator other) {
            Acc o = (Acc) other;
            return new Acc(Math.min(min, o.min), Math.max(max, o.max));
        }

        @Override
        public double[] range(int bits) {
            return min > max ? new double[] {0, 0} : new double[] {min, max};
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Acc a && Double.compare(a.min, min) == 0 && Double.compare(a.max, max) == 0;
        }

        @Override
        public int hashCode() {
            return Double.hashCode(min) * 31 + Double.hashCode(max);
        }
    }
}
