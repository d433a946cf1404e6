package io.zsq.core.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.zsq.core.quant.QParams;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.params.ParameterizedTest;

/** The array fake quantization (Vector API) against {@link QParams#fakeQuantize} to the bit, and its backward against the scalar definition. */
class QuantKernelsTest {

    private static float[] values(QParams q, SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            switch (i % 8) {
                case 0 -> x[i] = (float) ((r.nextInt(-40, 40) + 0.5) * q.scale()); // ties (as float products: near ties too)
                case 1 -> x[i] = Math.nextDown((float) ((r.nextInt(-40, 40) + 0.5) * q.scale()));
                case 2 -> x[i] = Math.nextUp((float) ((r.nextInt(-40, 40) + 0.5) * q.scale()));
                case 3 -> x[i] = 0.49999997f * q.scale() * (r.nextBoolean() ? 1 : -1);
                case 4 -> x[i] = (float) (r.nextGaussian() * 1e10); // far outside, beyond int range of x / s
                default -> x[i] = (float) (r.nextGaussian() * 20 * q.scale());
            }
        }
        return x;
    }

    @Test
    void forwardEqualsTheScalarDefinitionToTheBit() {
        SplittableRandom r = new SplittableRandom(3);
        for (QParams q : new QParams[] {QParams.fromRange(-1.3, 2.7, 4, false), QParams.fromRange(0, 6, 4, false), QParams.fromRange(-3, 3, 8, true),
                QParams.fromRange(-0.02, 0.9, 8, false), new QParams(0.1f, 7, -8, 7)}) {
            float[] x = values(q, r, 1000 + r.nextInt(40));
            float[] out = new float[x.length];
            QuantKernels.fakeQuantize(x, q.scale(), q.zeroPoint(), q.qmin(), q.qmax(), out);
            for (int i = 0; i < x.length; i++) {
                assertEquals(Float.floatToIntBits(q.fakeQuantize(x[i])), Float.floatToIntBits(out[i]), q + " at x = " + x[i]);
            }
        }
    }

    @ParameterizedTest(name = "inside term {0}")
    @ValueSource(booleans = {true, false})
    void backwardIsStraightThroughWithTheLsqOrPactStepGradient(boolean inside) {
        SplittableRandom r = new SplittableRandom(4);
        QParams q = QParams.fromRange(-1.3, 2.7, 4, false);
        float[] x = values(q, r, 1037), dy = new float[x.length];
        for (int i = 0; i < dy.length; i++) {
            dy[i] = (float) r.nextGaussian();
        }
        float[] d = dy.clone();
        double acc = inside ? QuantKernels.backward(d, x, q.scale(), q.zeroPoint(), q.qmin(), q.qmax())
                : QuantKernels.backward(d, x, q.scale(), q.zeroPoint(), q.qmin(), q.qmax(), false);
        double ref = 0;
        for (int i = 0; i < x.length; i++) {
            double v = x[i] / q.scale();
            long level = (long) Math.round(x[i] / q.scale()) + q.zeroPoint();
            boolean clipped = level < q.qmin() || level > q.qmax();
            assertEquals(clipped ? 0f : dy[i], d[i], 0f, "dx at x = " + x[i]);
            ref += dy[i] * (level < q.qmin() ? q.qmin() - q.zeroPoint() : level > q.qmax() ? q.qmax() - q.zeroPoint() : inside ? level - q.zeroPoint() - v : 0);
        }
        assertEquals(ref, acc, 1e-4 * (1 + Math.abs(ref)));
    }
}
