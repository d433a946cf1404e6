package io.zsq.core.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The NHWC convolution kernels (vector and scalar, forward and input gradient) against the definition
 * evaluated in double with explicit bounds checks, over random shapes, strides, paddings and groups.
 */
class ConvKernelsTest {

    @Test
    void theVectorKernelsAreTheOnesUnderTest() {
        assertTrue(Simd.ENABLED, "run the tests with --add-modules jdk.incubator.vector (the surefire argLine does): " + Simd.describe());
    }

    @Test
    void forwardAndInputGradientMatchTheDefinition() {
        SplittableRandom r = new SplittableRandom(17);
        int lanes = Simd.LANES;
        int[] channelChoices = {1, 3, lanes, 2 * lanes, 3 * lanes, 4 * lanes, 6 * lanes};
        for (int trial = 0; trial < 120; trial++) {
            int k = 1 + r.nextInt(3), kw = trial % 7 == 0 ? 1 + r.nextInt(3) : k;
            int sh = 1 + r.nextInt(trial % 3 == 0 ? 3 : 1), sw = trial % 3 == 0 ? 1 + r.nextInt(3) : sh;
            int pt = r.nextInt(k), pl = r.nextInt(kw);
            int groups = 1, c = channelChoices[r.nextInt(channelChoices.length)], o = channelChoices[r.nextInt(channelChoices.length)];
            if (trial % 5 == 0) { // grouped, or depthwise
                groups = trial % 10 == 0 ? c : gcd(c, o);
                o = trial % 10 == 0 ? c : o;
            }
            int n = 1 + r.nextInt(3), h = k + r.nextInt(8), w = kw + r.nextInt(8);
            int pb = r.nextInt(k), pr = r.nextInt(kw);
            int oh = (h + pt + pb - k) / sh + 1, ow = (w + pl + pr - kw) / sw + 1;
            ConvShape s = new ConvShape(n, c, h, w, o, oh, ow, k, kw, sh, sw, pt, pl, groups);
            float[] x = gaussian(r, n * h * w * c), wt = gaussian(r, o * (c / groups) * k * kw), b = gaussian(r, o);
            float[] dy = gaussian(r, n * oh * ow * o);
            double[][] ref = reference(s, x, wt, b, dy);

            check(s + " forward", ref[0], ref[1], Conv.forward(s, x, wt, b));
            float[] xp = Conv.pad(x, n, h, w, c, s.hp(), s.wp(), pt, pl);
            float[] y = new float[n * oh * ow * o];
            Conv.gather(s, xp, wt, b, y);
            check(s + " scalar forward", ref[0], ref[1], y);
            if (groups == 1 && o % lanes == 0) {
                VectorConv.gather(s, xp, wt, b, y = new float[y.length]);
                check(s + " vector forward", ref[0], ref[1], y);
            }
            if (Conv.isDepthwise(s) && c % lanes == 0) {
                VectorConv.depthwise(s, xp, wt, b, y = new float[y.length]);
                check(s + " vector depthwise", ref[0], ref[1], y);
                float[] dxd = new float[n * s.hp() * s.wp() * c];
                VectorConv.depthwiseScatter(s, dy, wt, dxd);
                check(s + " vector depthwise scatter", ref[2], ref[3], Conv.crop(dxd, n, h, w, c, s.hp(), s.wp(), pt, pl));
            }
            if (groups == 1 && c % lanes == 0) {
                VectorConv.dot(s, xp, wt, b, y = new float[y.length]);
                check(s + " vector dot forward", ref[0], ref[1], y);
            }

            check(s + " input gradient", ref[2], ref[3], Conv.backwardInput(s, dy, wt));
            float[] dxp = new float[n * s.hp() * s.wp() * c];
            Conv.scatter(s, dy, wt, dxp);
            check(s + " scalar scatter", ref[2], ref[3], Conv.crop(dxp, n, h, w, c, s.hp(), s.wp(), pt, pl));
        }
    }

    /** {y, |y| bound, dx, |dx| bound} from the definition, NHWC, in double. */
    private static double[][] reference(ConvShape s, float[] x, float[] w, float[] b, float[] dy) {
        int cpg = s.c() / s.groups(), opg = s.o() / s.groups();
        double[] y = new double[s.n() * s.oh() * s.ow() * s.o()], ya = new double[y.length];
        double[] dx = new double[x.length], dxa = new double[x.length];
        for (int img = 0; img < s.n(); img++) {
            for (int oy = 0; oy < s.oh(); oy++) {
                for (int ox = 0; ox < s.ow(); ox++) {
                    for (int oc = 0; oc < s.o(); oc++) {
                        int yi = ((img * s.oh() + oy) * s.ow() + ox) * s.o() + oc;
                        y[yi] = b[oc];
                        ya[yi] = Math.abs(b[oc]);
                        for (int ci = 0; ci < cpg; ci++) {
                            for (int ky = 0; ky < s.kh(); ky++) {
                                for (int kx = 0; kx < s.kw(); kx++) {
                                    int iy = oy * s.sh() - s.pt() + ky, ix = ox * s.sw() - s.pl() + kx;
                                    if (iy < 0 || iy >= s.h() || ix < 0 || ix >= s.w()) {
                                        continue;
                                    }
                                    int xi = ((img * s.h() + iy) * s.w() + ix) * s.c() + (oc / opg) * cpg + ci;
                                    double wv = w[((oc * cpg + ci) * s.kh() + ky) * s.kw() + kx];
                                    y[yi] += wv * x[xi];
                                    ya[yi] += Math.abs(wv * x[xi]);
                                    dx[xi] += wv * dy[yi];
                                    dxa[xi] += Math.abs(wv * dy[yi]);
                                }
                            }
                        }
                    }
                }
            }
        }
        return new double[][] {y, ya, dx, dxa};
    }

    private static void check(String what, double[] ref, double[] bound, float[] got) {
        assertEquals(ref.length, got.length, what + ": length");
        for (int i = 0; i < ref.length; i++) {
            assertEquals(ref[i], got[i], 1e-5 * bound[i] + 1e-6, what + " at " + i);
        }
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
