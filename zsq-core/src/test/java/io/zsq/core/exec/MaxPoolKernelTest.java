package io.zsq.core.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vector max pool against the scalar definition: same maxima, same winners (first of equal maxima), bit for bit. */
class MaxPoolKernelTest {

    @Test
    void vectorMaxPoolEqualsTheScalarDefinition() {
        assertTrue(Simd.ENABLED && VectorConv.maxPoolFits(Simd.LANES), Simd.describe());
        SplittableRandom r = new SplittableRandom(5);
        for (int trial = 0; trial < 60; trial++) {
            int c = Simd.LANES * (1 + r.nextInt(3)), n = 1 + r.nextInt(3);
            int[] k = {1 + r.nextInt(3), 1 + r.nextInt(3)}, st = {1 + r.nextInt(2), 1 + r.nextInt(2)};
            int[] pads = {r.nextInt(k[0]), r.nextInt(k[1]), r.nextInt(k[0]), r.nextInt(k[1])};
            int inH = k[0] + r.nextInt(6), inW = k[1] + r.nextInt(6);
            int outH = (inH + pads[0] + pads[2] - k[0]) / st[0] + 1, outW = (inW + pads[1] + pads[3] - k[1]) / st[1] + 1;
            float[] x = new float[n * inH * inW * c];
            for (int i = 0; i < x.length; i++) {
                x[i] = trial % 2 == 0 ? r.nextInt(4) - 2 : (float) r.nextGaussian(); // few levels: many ties
            }
            x[r.nextInt(x.length)] = Float.NaN;
            int size = n * outH * outW * c;
            float[] ys = new float[size], yv = new float[size];
            int[] as = new int[size], av = new int[size];
            Ops.maxPoolScalar(x, n, c, inH, inW, outH, outW, k, st, pads, ys, as);
            VectorConv.maxPool(x, n, c, inH, inW, outH, outW, k, st, pads, yv, av);
            assertArrayEquals(as, av, "winners, trial " + trial);
            assertArrayEquals(ys, yv, "maxima, trial " + trial);
        }
    }
}
