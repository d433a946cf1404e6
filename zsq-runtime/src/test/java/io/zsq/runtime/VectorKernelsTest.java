package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Vector API convolution equals the scalar one and the long-arithmetic definition, bit for bit. */
class VectorKernelsTest {

    @Test
    void vectorPathIsActiveInTheTests() {
        assertTrue(IntSimd.ENABLED, "the tests run with --add-modules jdk.incubator.vector; " + IntSimd.describe());
        String lanes = System.getProperty("zsq.test.lanes"); // set by the build's second run (-XX:UseAVX=2)
        if (lanes != null) {
            assertEquals(Integer.parseInt(lanes), VectorKernels.L, "int lanes in this run");
        }
    }

    @Test
    void vectorConvMatchesScalarAndReferenceOverRandomShapes() {
        SplittableRandom r = new SplittableRandom(11);
        for (int t = 0; t < 480; t++) {
            boolean wide = t >= 400; // the last 80: depthwise planes several vectors wide (also per stride phase)
            boolean dense = !wide && r.nextInt(6) == 0, depthwise = wide || !dense && r.nextInt(4) == 0;
            int inC = dense ? r.nextInt(1, 300) : r.nextInt(1, 24), h = dense ? 1 : r.nextInt(1, 24);
            int w = dense ? 1 : wide ? r.nextInt(VectorKernels.L, 5 * VectorKernels.L + 5) : r.nextInt(1, 24);
            int groups = depthwise ? inC : (!dense && inC % 2 == 0 && r.nextBoolean() ? 2 : 1);
            int outC = depthwise ? inC : groups * r.nextInt(1, dense ? 20 : 11);
            int k = dense ? 1 : Math.min(Math.min(h, w), new int[] {1, 3, 5}[r.nextInt(3)]);
            int s = dense ? 1 : r.nextInt(1, 3), sw = depthwise ? r.nextInt(1, 4) : s; // depthwise: strides 1-3, unequal too
            int pt = r.nextInt(0, k / 2 + 1), pl = r.nextInt(0, k / 2 + 1);
            int oh = (h + 2 * pt - k) / s + 1, ow = (w + 2 * pl - k) / sw + 1;
            int bits = new int[] {2, 4, 8}[r.nextInt(3)];
            byte[] wt = new byte[outC * (inC / groups) * k * k];
            for (int i = 0; i < wt.length; i++) {
                wt[i] = (byte) r.nextInt(-(1 << (bits - 1)), 1 << (bits - 1)); // full range, -128 included at 8 bits
            }
            int[] bias = new int[outC], mult = new int[outC], shift = new int[outC];
            for (int o = 0; o < outC; o++) {
                bias[o] = r.nextInt(-100_000, 100_000);
                mult[o] = r.nextInt(5) == 0 ? Integer.MAX_VALUE : (1 << 30) + r.nextInt(1 << 30);
                shift[o] = r.nextInt(10) == 0 ? r.nextInt(2, 31) : r.nextInt(-20, 2); // large left shifts saturate
            }
            int zx = r.nextInt(4) == 0 ? -128 : r.nextInt(-128, 128), lo = r.nextBoolean() ? -128 : r.nextInt(-128, 0);
            Layer.Conv c = new Layer.Conv("x", "y", new int[] {inC, h, w}, new int[] {outC, oh, ow}, k, k, s, sw, pt, pl, groups, wt, bits,
                    bias, mult, shift, zx, r.nextInt(-128, 128), lo, r.nextInt(lo + 1, 128));
            byte[] x = new byte[inC * h * w];
            for (int i = 0; i < x.length; i++) {
                x[i] = (byte) (r.nextInt(8) == 0 ? (r.nextBoolean() ? -128 : 127) : r.nextInt(-128, 128));
            }
            byte[] ref = LongReference.conv(c, x);
            String what = "case " + t + ": " + inC + "x" + h + "x" + w + " -> " + outC + "x" + oh + "x" + ow + " k" + k + " s" + s + "," + sw
                    + " groups " + groups;
            assertArrayEquals(ref, Kernels.scalarConv(c, x), "scalar, " + what);
            assertArrayEquals(ref, VectorKernels.conv(c, x), "vector, " + what);
        }
    }

    @Test
    void vectorAddMatchesScalarAndReference() {
        SplittableRandom r = new SplittableRandom(12);
        for (int t = 0; t < 300; t++) {
            int n = r.nextInt(1, 5 * VectorKernels.L + 7), ls = r.nextInt(0, 23);
            int[] m = new int[3], s = new int[3];
            for (int i = 0; i < 3; i++) {
                m[i] = r.nextInt(5) == 0 ? Integer.MAX_VALUE : (1 << 30) + r.nextInt(1 << 30);
                s[i] = r.nextInt(8) == 0 ? r.nextInt(0, 12) : r.nextInt(-31, 0); // shifts >= 0 saturate the rescaled inputs
            }
            int lo = r.nextBoolean() ? -128 : r.nextInt(-128, 0);
            Layer.Add a = new Layer.Add("a", "b", "y", new int[] {n, 1, 1}, zeroPoint(r), m[0], s[0], zeroPoint(r), m[1], s[1], ls, zeroPoint(r),
                    m[2], s[2], lo, r.nextInt(lo + 1, 128));
            byte[] xa = randomBytes(r, n), xb = randomBytes(r, n), ref = LongReference.add(a, xa, xb);
            assertArrayEquals(ref, Kernels.scalarAdd(a, xa, xb), "scalar, case " + t);
            assertArrayEquals(ref, VectorKernels.add(a, xa, xb), "vector, case " + t);
        }
    }

    @Test
    void vectorPoolingMatchesScalarAndReference() {
        SplittableRandom r = new SplittableRandom(13);
        for (int t = 0; t < 400; t++) {
            boolean global = r.nextInt(5) == 0;
            int c = r.nextInt(1, 6), h = r.nextInt(1, 20), w = r.nextInt(1, global ? 20 : 3 * VectorKernels.L + 9);
            int kh = global ? h : Math.min(h, r.nextInt(1, 5)), kw = global ? w : Math.min(w, r.nextInt(1, 5));
            int sh = global ? 1 : r.nextInt(1, 4), sw = global ? 1 : r.nextInt(1, 4);
            int pt = global ? 0 : r.nextInt(0, kh), pl = global ? 0 : r.nextInt(0, kw);
            int oh = (h + 2 * pt - kh) / sh + 1, ow = (w + 2 * pl - kw) / sw + 1;
            int[] in = {c, h, w}, out = {c, oh, ow};
            byte[] x = randomBytes(r, c * h * w);
            String what = "case " + t + ": " + c + "x" + h + "x" + w + " k" + kh + "x" + kw + " s" + sh + "," + sw + " pad " + pt + "," + pl;
            assertTrue(VectorKernels.windowsTouchInput(in, out, kh, kw, sh, sw, pt, pl), what); // pads < kernel: every window holds input
            Layer.MaxPool mp = new Layer.MaxPool("x", "y", in, out, kh, kw, sh, sw, pt, pl);
            byte[] ref = LongReference.maxPool(mp, x);
            assertArrayEquals(ref, Kernels.scalarMaxPool(mp, x), "scalar max, " + what);
            assertArrayEquals(ref, VectorKernels.maxPool(mp, x), "vector max, " + what);
            Layer.AvgPool ap = new Layer.AvgPool("x", "y", in, out, kh, kw, sh, sw, pt, pl, r.nextBoolean(), zeroPoint(r));
            ref = LongReference.avgPool(ap, x);
            assertArrayEquals(ref, Kernels.scalarAvgPool(ap, x), "scalar average, " + what);
            assertArrayEquals(ref, VectorKernels.avgPool(ap, x), "vector average, " + what);
        }
        assertFalse(VectorKernels.windowsTouchInput(new int[] {1, 4, 4}, new int[] {1, 3, 3}, 2, 2, 2, 2, 2, 0), "a window of padding only");
    }

    private static int zeroPoint(SplittableRandom r) {
        return r.nextInt(4) == 0 ? (r.nextBoolean() ? -128 : 127) : r.nextInt(-128, 128);
    }

    private static byte[] randomBytes(SplittableRandom r, int n) {
        byte[] x = new byte[n];
        for (int i = 0; i < n; i++) {
            x[i] = (byte) (r.nextInt(8) == 0 ? (r.nextBoolean() ? -128 : 127) : r.nextInt(-128, 128));
        }
        return x;
    }
}
