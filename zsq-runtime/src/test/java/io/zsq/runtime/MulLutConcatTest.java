package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Layer.Mul} (broadcasting), {@link Layer.Lut}, {@link Layer.Concat} and {@link Layer.Expand}: the kernels against
 * {@link LongReference} to the bit over random shapes, zero points, multipliers and shifts (saturating
 * ones included), the table exhaustively over int8; the layers through the file format and
 * {@link IntRunner}; inconsistent layers refused.
 */
class MulLutConcatTest {

    static byte[] random(SplittableRandom r, int n) {
        return SliceAndPadTest.random(r, n);
    }

    /** A broadcast of {@code o}: each axis kept or 1. */
    static int[] broadcastOf(SplittableRandom r, int[] o) {
        int[] s = new int[3];
        for (int a = 0; a < 3; a++) {
            s[a] = r.nextInt(3) == 0 ? 1 : o[a];
        }
        return s;
    }

    static int[] multiplier(SplittableRandom r) {
        return new int[] {r.nextInt(1 << 30, Integer.MAX_VALUE), r.nextInt(-31, r.nextBoolean() ? 2 : 31)};
    }

    @Test
    void mulMatchesTheReference() {
        SplittableRandom r = new SplittableRandom(61);
        for (int t = 0; t < 500; t++) {
            int[] o = {r.nextInt(1, 9), r.nextInt(1, 8), r.nextInt(1, 8)};
            int[] as = t % 5 == 0 ? o : broadcastOf(r, o), bs = t % 3 == 0 ? new int[] {o[0], 1, 1} : broadcastOf(r, o);
            if (t % 7 == 0) {
                bs = new int[] {1, 1, 1};
            }
            int[] out = new int[3];
            for (int a = 0; a < 3; a++) {
                out[a] = Math.max(as[a], bs[a]);
            }
            int[] mult = multiplier(r);
            int lo = r.nextBoolean() ? -128 : r.nextInt(-128, 0), hi = r.nextBoolean() ? 127 : r.nextInt(0, 128);
            Layer.Mul m = new Layer.Mul("a", "b", "y", as, bs, out, r.nextInt(-128, 128), r.nextInt(-128, 128), r.nextInt(-128, 128),
                    mult[0], mult[1], lo, hi);
            byte[] xa = random(r, Layer.size(as)), xb = random(r, Layer.size(bs));
            assertArrayEquals(LongReference.mul(m, xa, xb), Kernels.mul(m, xa, xb), "case " + t + ": " + m);
        }
        // the largest product (-128 - 127)^2 at the largest multiplier saturates, the smallest rounds to the zero point
        Layer.Mul big = new Layer.Mul("a", "b", "y", new int[] {1, 1, 2}, new int[] {1, 1, 2}, new int[] {1, 1, 2}, 127, 127, 0,
                Integer.MAX_VALUE, 30, -128, 127);
        assertArrayEquals(new byte[] {127, 0}, Kernels.mul(big, new byte[] {-128, 127}, new byte[] {-128, 0}));
    }

    @Test
    void lutIsTheTableOnEveryInt8Value() {
        SplittableRandom r = new SplittableRandom(62);
        byte[] table = random(r, 256);
        Layer.Lut t = new Layer.Lut("x", "y", new int[] {256, 1, 1}, "Sigmoid", new int[0], table);
        byte[] x = new byte[256];
        for (int i = 0; i < 256; i++) {
            x[i] = (byte) (i - 128);
        }
        byte[] y = Kernels.lut(t, x);
        for (int i = 0; i < 256; i++) {
            assertEquals(table[i], y[i], "x = " + (i - 128));
        }
    }

    @Test
    void concatMatchesTheReference() {
        SplittableRandom r = new SplittableRandom(63);
        for (int t = 0; t < 300; t++) {
            int k = r.nextInt(2, 5), h = r.nextInt(1, 8), w = r.nextInt(1, 8);
            int[] ch = new int[k], zp = new int[k], m = new int[k], s = new int[k];
            String[] in = new String[k];
            byte[][] x = new byte[k][];
            int total = 0;
            for (int i = 0; i < k; i++) {
                in[i] = "x" + i;
                ch[i] = r.nextInt(1, 6);
                zp[i] = r.nextInt(-128, 128);
                int[] mult = i == 0 && t % 2 == 0 ? new int[] {1 << 30, 1} : multiplier(r); // the identity too
                m[i] = mult[0];
                s[i] = mult[1];
                x[i] = random(r, ch[i] * h * w);
                total += ch[i];
            }
            Layer.Concat c = new Layer.Concat(in, "y", new int[] {total, h, w}, ch, zp, m, s, r.nextInt(-128, 128), -128, 127);
            byte[] y = Kernels.concat(c, x);
            assertArrayEquals(LongReference.concat(c, x), y, "case " + t);
            if (t % 2 == 0 && zp[0] == c.outZeroPoint()) {
                assertArrayEquals(x[0], java.util.Arrays.copyOf(y, x[0].length), "the identity copies");
            }
        }
    }

    /** A subtraction is an add with a negative second multiplier: scalar and vector kernels against the reference. */
    @Test
    void subtractionMatchesTheReference() {
        SplittableRandom r = new SplittableRandom(66);
        for (int t = 0; t < 300; t++) {
            int n = r.nextInt(1, 200);
            int[] ma = multiplier(r), mb = multiplier(r), mo = multiplier(r);
            Layer.Add a = new Layer.Add("a", "b", "y", new int[] {n, 1, 1}, r.nextInt(-128, 128), ma[0], Math.min(ma[1], 0),
                    r.nextInt(-128, 128), -mb[0], Math.min(mb[1], 0), 20, r.nextInt(-128, 128), mo[0], r.nextInt(-31, -10), -128, 127);
            byte[] xa = random(r, n), xb = random(r, n);
            byte[] ref = LongReference.add(a, xa, xb);
            assertArrayEquals(ref, Kernels.scalarAdd(a, xa, xb), "scalar case " + t);
            assertArrayEquals(ref, Kernels.add(a, xa, xb), "kernel case " + t);
        }
        // a - a with equal parameters is the output zero point
        Layer.Add same = new Layer.Add("a", "a", "y", new int[] {4, 1, 1}, 3, 1 << 30, 0, 3, -(1 << 30), 0, 20, -7, 1 << 30, -20, -128, 127);
        assertArrayEquals(new byte[] {-7, -7, -7, -7}, Kernels.add(same, new byte[] {-128, 0, 5, 127}, new byte[] {-128, 0, 5, 127}));
    }

    /** Expand against its definition: element (c, y, x) reads (c|0, y|0, x|0). */
    @Test
    void expandMatchesTheDefinition() {
        SplittableRandom r = new SplittableRandom(65);
        for (int t = 0; t < 300; t++) {
            int[] o = {r.nextInt(1, 9), r.nextInt(1, 8), r.nextInt(1, 8)};
            int[] is = broadcastOf(r, o);
            Layer.Expand e = new Layer.Expand("x", "y", is, o);
            byte[] x = random(r, Layer.size(is));
            byte[] y = Kernels.expand(e, x);
            for (int c = 0; c < o[0]; c++) {
                for (int h = 0; h < o[1]; h++) {
                    for (int w = 0; w < o[2]; w++) {
                        int src = (Math.min(c, is[0] - 1) * is[1] + Math.min(h, is[1] - 1)) * is[2] + Math.min(w, is[2] - 1);
                        assertEquals(x[src], y[(c * o[1] + h) * o[2] + w], "case " + t);
                    }
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new Layer.Expand("x", "y", new int[] {2, 1, 1}, new int[] {4, 3, 3}));
    }

    /** A squeeze-excite tail and a concat as layers, written, read back (the same bytes again) and run. */
    @Test
    void layersRoundTripThroughTheFormatAndRun() throws IOException {
        SplittableRandom r = new SplittableRandom(64);
        Layer.AvgPool gap = new Layer.AvgPool("in", "g", new int[] {8, 6, 6}, new int[] {8, 1, 1}, 6, 6, 1, 1, 0, 0, false, 0);
        Layer.Lut gate = new Layer.Lut("g", "s", new int[] {8, 1, 1}, "HardSigmoid", new int[] {Integer.MAX_VALUE, 7}, random(r, 256));
        Layer.Mul mul = new Layer.Mul("in", "s", "m", new int[] {8, 6, 6}, new int[] {8, 1, 1}, new int[] {8, 6, 6}, 0, -128, -5,
                1 << 30, -6, -5, 127);
        Layer.Expand ex = new Layer.Expand("g", "ge", new int[] {8, 1, 1}, new int[] {8, 6, 6});
        Layer.Concat cat = new Layer.Concat(new String[] {"m", "ge", "m"}, "y", new int[] {24, 6, 6}, new int[] {8, 8, 8},
                new int[] {-5, 0, -5}, new int[] {1 << 30, 1 << 30, 1 << 30}, new int[] {1, 0, 1}, 3, -128, 127);
        Map<String, TensorQuant> q = new java.util.LinkedHashMap<>();
        for (String t : List.of("in", "g", "s", "m", "ge", "y")) {
            q.put(t, new TensorQuant(0x3C000000, 0, -128, 127));
        }
        IntModel m = new IntModel(Map.of(), "in", new int[] {8, 6, 6}, "y", new int[] {24, 6, 6}, List.of(gap, gate, mul, ex, cat), q);
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        m.write(bo);
        IntModel back = IntModel.read(new ByteArrayInputStream(bo.toByteArray()));
        Layer.Lut g2 = (Layer.Lut) back.layers().get(1);
        assertEquals("HardSigmoid", g2.function());
        assertArrayEquals(gate.functionParams(), g2.functionParams());
        assertArrayEquals(gate.table(), g2.table());
        Layer.Concat c2 = (Layer.Concat) back.layers().get(4);
        assertArrayEquals(ex.inShape(), ((Layer.Expand) back.layers().get(3)).inShape());
        assertArrayEquals(cat.inputs(), c2.inputs());
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        back.write(again);
        assertArrayEquals(bo.toByteArray(), again.toByteArray(), "rewrites to the same bytes");
        byte[] x = random(r, 8 * 6 * 6);
        byte[] ms = LongReference.mul(mul, x, Kernels.lut(gate, LongReference.avgPool(gap, x)));
        byte[] ref = LongReference.concat(cat, new byte[][] {ms, Kernels.expand(ex, LongReference.avgPool(gap, x)), ms});
        assertArrayEquals(ref, new IntRunner(back).run(x));
        assertArrayEquals(ref, new IntRunner(m).runBatch(new byte[][] {x, x, x}, 2)[2]);
    }

    @Test
    void inconsistentLayersAreRefused() {
        int[] o = {4, 6, 6};
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Layer.Mul("a", "b", "y", o, new int[] {2, 1, 1}, o, 0, 0, 0,
                1 << 30, 0, -128, 127)).getMessage().contains("mul y"));
        assertThrows(IllegalArgumentException.class, () -> new Layer.Mul("a", "b", "y", o, o, o, 0, 0, 0, 1 << 30, 31, -128, 127));
        assertThrows(IllegalArgumentException.class, () -> new Layer.Mul("a", "b", "y", o, o, o, 128, 0, 0, 1 << 30, 0, -128, 127));
        assertThrows(IllegalArgumentException.class, () -> new Layer.Lut("x", "y", o, "Sigmoid", new int[0], new byte[255]));
        assertThrows(IllegalArgumentException.class, () -> new Layer.Concat(new String[] {"a"}, "y", o, new int[] {4}, new int[1],
                new int[1], new int[1], 0, -128, 127));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Layer.Concat(new String[] {"a", "b"}, "y", o, new int[] {2, 3},
                new int[2], new int[2], new int[2], 0, -128, 127)).getMessage().contains("sum to 5"));
    }
}
