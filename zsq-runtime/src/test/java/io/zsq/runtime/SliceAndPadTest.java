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
 * {@link Layer.Slice} and {@link Layer.Pad}: the kernels against {@link LongReference} to the bit over
 * random shapes, starts, steps and pads; the layers through the file format and {@link IntRunner};
 * inconsistent geometry refused.
 */
class SliceAndPadTest {

    static byte[] random(SplittableRandom r, int n) {
        byte[] x = new byte[n];
        for (int i = 0; i < n; i++) {
            x[i] = (byte) r.nextInt(-128, 128);
        }
        return x;
    }

    static Layer.Slice randomSlice(SplittableRandom r, String in, String out, int[] is) {
        int[] st = new int[3], sp = new int[3], os = new int[3];
        for (int a = 0; a < 3; a++) {
            sp[a] = r.nextInt(1, 4);
            st[a] = r.nextInt(0, is[a]);
            int most = (is[a] - 1 - st[a]) / sp[a] + 1;
            os[a] = r.nextInt(1, most + 1);
        }
        return new Layer.Slice(in, out, is, os, st, sp);
    }

    @Test
    void sliceMatchesTheReference() {
        SplittableRandom r = new SplittableRandom(21);
        for (int t = 0; t < 400; t++) {
            int[] is = {r.nextInt(1, 9), r.nextInt(1, 12), r.nextInt(1, 12)};
            Layer.Slice s = randomSlice(r, "x", "y", is);
            byte[] x = random(r, Layer.size(is));
            assertArrayEquals(LongReference.slice(s, x), Kernels.slice(s, x), "case " + t + ": " + s);
        }
        // the option-A shortcut's x[:, :, ::2, ::2] of a 16x32x32 plane
        Layer.Slice s = new Layer.Slice("x", "y", new int[] {16, 32, 32}, new int[] {16, 16, 16}, new int[3], new int[] {1, 2, 2});
        byte[] x = random(r, 16 * 32 * 32);
        byte[] y = Kernels.slice(s, x);
        assertEquals(x[(5 * 32 + 2 * 7) * 32 + 2 * 3], y[(5 * 16 + 7) * 16 + 3]);
        assertArrayEquals(LongReference.slice(s, x), y);
    }

    @Test
    void padMatchesTheReference() {
        SplittableRandom r = new SplittableRandom(22);
        for (int t = 0; t < 400; t++) {
            int[] is = {r.nextInt(1, 9), r.nextInt(1, 10), r.nextInt(1, 10)};
            int[] b = {r.nextInt(0, 5), r.nextInt(0, 3), r.nextInt(0, 3)};
            int[] os = {is[0] + b[0] + r.nextInt(0, 5), is[1] + b[1] + r.nextInt(0, 3), is[2] + b[2] + r.nextInt(0, 3)};
            Layer.Pad p = new Layer.Pad("x", "y", is, os, b, r.nextInt(-128, 128));
            byte[] x = random(r, Layer.size(is));
            assertArrayEquals(LongReference.pad(p, x), Kernels.pad(p, x), "case " + t);
        }
    }

    /** The option-A shortcut as layers (slice ::2, channel pad 4+4 with zero point -3, residual add), written, read back and run. */
    @Test
    void layersRoundTripThroughTheFormatAndRun() throws IOException {
        SplittableRandom r = new SplittableRandom(23);
        Layer.Slice s = new Layer.Slice("in", "s", new int[] {8, 8, 8}, new int[] {8, 4, 4}, new int[3], new int[] {1, 2, 2});
        Layer.Pad p = new Layer.Pad("s", "p", new int[] {8, 4, 4}, new int[] {16, 4, 4}, new int[] {4, 0, 0}, -3);
        Layer.Pad p2 = new Layer.Pad("s", "q", new int[] {8, 4, 4}, new int[] {16, 4, 4}, new int[] {8, 0, 0}, -3);
        Layer.Add a = new Layer.Add("p", "q", "sum", new int[] {16, 4, 4}, -3, 1 << 30, 0, -3, 1 << 30, 0, 20, 0, 1 << 30, -20, -128, 127);
        Map<String, TensorQuant> q = new java.util.LinkedHashMap<>();
        for (String t : List.of("in", "s", "p", "q")) {
            q.put(t, new TensorQuant(0x3C000000, -3, -128, 127));
        }
        q.put("sum", new TensorQuant(0x3C000000, 0, -128, 127));
        IntModel m = new IntModel(Map.of(), "in", new int[] {8, 8, 8}, "sum", new int[] {16, 4, 4}, List.of(s, p, p2, a), q);
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        m.write(bo);
        IntModel back = IntModel.read(new ByteArrayInputStream(bo.toByteArray()));
        Layer.Slice s2 = (Layer.Slice) back.layers().get(0);
        Layer.Pad pb = (Layer.Pad) back.layers().get(1);
        assertArrayEquals(s.starts(), s2.starts());
        assertArrayEquals(s.steps(), s2.steps());
        assertArrayEquals(s.outShape(), s2.outShape());
        assertArrayEquals(p.begin(), pb.begin());
        assertEquals(-3, pb.fill());
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        back.write(again);
        assertArrayEquals(bo.toByteArray(), again.toByteArray(), "rewrites to the same bytes");
        byte[] x = random(r, 8 * 8 * 8);
        byte[] ref = LongReference.add(a, LongReference.pad(p, LongReference.slice(s, x)), LongReference.pad(p2, LongReference.slice(s, x)));
        assertArrayEquals(ref, new IntRunner(back).run(x));
        assertArrayEquals(ref, new IntRunner(m).runBatch(new byte[][] {x, x}, 2)[1]);
    }

    @Test
    void inconsistentGeometryIsRefused() {
        int[] is = {4, 6, 6};
        // reads index 2 + 2 * 2 = 6 of an axis of 6
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Layer.Slice("x", "y", is, new int[] {4, 3, 3}, new int[] {0, 2, 0},
                new int[] {1, 2, 2})).getMessage().contains("slice y"));
        assertThrows(IllegalArgumentException.class, () -> new Layer.Slice("x", "y", is, new int[] {4, 3, 3}, new int[3], new int[] {1, 0, 2}));
        assertThrows(IllegalArgumentException.class, () -> new Layer.Slice("x", "y", is, new int[] {4, 0, 3}, new int[3], new int[] {1, 2, 2}));
        assertThrows(IllegalArgumentException.class, () -> new Layer.Pad("x", "y", is, new int[] {8, 6, 6}, new int[] {5, 0, 0}, 0));
        assertThrows(IllegalArgumentException.class, () -> new Layer.Pad("x", "y", is, new int[] {8, 6, 6}, new int[] {-1, 0, 0}, 0));
        assertThrows(IllegalArgumentException.class, () -> new Layer.Pad("x", "y", is, new int[] {8, 6, 6}, new int[] {2, 0, 0}, 128));
    }
}
