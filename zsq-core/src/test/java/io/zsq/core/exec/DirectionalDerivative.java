package io.zsq.core.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.function.DoubleUnaryOperator;

/** The engine tests' finite-difference check of an input gradient along one direction. */
final class DirectionalDerivative {
    private DirectionalDerivative() {}

    /**
     * Normalizes {@code d} in place, then asserts {@code grad . d} equals the central difference
     * {@code (loss(h) - loss(-h)) / 2h} of {@code lossAlong} (the loss at {@code x + t d}) within
     * {@code rel * |fd| + abs}.
     */
    static void check(float[] grad, float[] d, DoubleUnaryOperator lossAlong, double h, double rel, double abs, String what) {
        double norm = 0, dot = 0;
        for (float v : d) {
            norm += v * v;
        }
        for (int i = 0; i < d.length; i++) {
            d[i] /= (float) Math.sqrt(norm);
            dot += grad[i] * d[i];
        }
        double fd = (lossAlong.applyAsDouble(h) - lossAlong.applyAsDouble(-h)) / (2 * h);
        assertEquals(fd, dot, rel * Math.abs(fd) + abs, what);
    }
}
