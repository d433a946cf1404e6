package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Vector API convolution equals the scalar one and the long-arithmetic definition, bit for bit. */
class VectorKernelsTest {

    @Test
    void vectorPathIsActiveInTheTests() {
        assertTrue(IntSimd.ENABLED, "the tests run with --add-modules jdk.incubator.vector; " + IntSimd.describe());
    }

    @Test
    void vectorConvMatchesScalarAndReferenceOverRandomShapes() {
        SplittableRandom r = new SplittableRandom(11);
        for (int t = 0; t < 480; t++) {
            boolean wide = t >= 400; // the last 80: depthwise planes wider than one vector
            boolean dense = !wide && r.nextInt(6) == 0, depthwise = wide || !dense && r.nextInt(4) == 0;
            int inC = dense ? r.nextInt(1, 300) : r.nextInt(1, 24), h = dense ? 1 : r.nextInt(1, 24);
            int w = dense ? 1 : wide ? r.nextInt(VectorKernels.L, 3 * VectorKernels.L + 5) : r.nextInt(1, 24);
            int groups = depthwise ? inC : (!dense && inC % 2 == 0 && r.nextBoolean() ? 2 : 1);
            int outC = depthwise ? inC : groups * r.nextInt(1, dense ? 20 : 11);
            int k = dense ? 1 : Math.min(Math.min(h, w), new int[] {1, 3, 5}[r.nextInt(3)]);
            int s = dense ? 1 : r.nextInt(1, 3), pt = r.nextInt(0, k / 2 + 1), pl = r.nextInt(0, k / 2 + 1);
            int oh = (h + 2 * pt - k) / s + 1, ow = (w + 2 * pl - k) / s + 1;
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
            Layer.Conv c = new Layer.Conv("x", "y", new int[] {inC, h, w}, new int[] {outC, oh, ow}, k, k, s, s, pt, pl, groups, wt, bits,
                    bias, mult, shift, zx, r.nextInt(-128, 128), lo, r.nextInt(lo + 1, 128));
            byte[] x = new byte[inC * h * w];
            for (int i = 0; i < x.length; i++) {
                x[i] = (byte) (r.nextInt(8) == 0 ? (r.nextBoolean() ? -128 : 127) : r.nextInt(-128, 128));
            }
            byte[] ref = LongReference.conv(c, x);
            String what = "case " + t + ": " + inC + "x" + h + "x" + w + " -> " + outC + "x" + oh + "x" + ow + " k" + k + " s" + s
                    + " groups " + groups;
            assertArrayEquals(ref, Kernels.scalarConv(c, x), "scalar, " + what);
            assertArrayEquals(ref, VectorKernels.conv(c, x), "vector, " + what);
        }
    }
}
