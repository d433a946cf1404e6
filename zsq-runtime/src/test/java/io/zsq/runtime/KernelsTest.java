package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class KernelsTest {

    static Layer.Conv randomConv(SplittableRandom r, String in, String out, int inC, int h, int w, boolean depthwise) {
        int groups = depthwise ? inC : (r.nextBoolean() ? 1 : (inC % 2 == 0 ? 2 : 1));
        int outC = depthwise ? inC : groups * r.nextInt(1, 5);
        int k = Math.min(Math.min(h, w), r.nextBoolean() ? 3 : (r.nextBoolean() ? 1 : 5));
        int s = r.nextInt(1, 3), p = r.nextInt(0, k / 2 + 1);
        int oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
        byte[] wt = new byte[outC * (inC / groups) * k * k];
        for (int i = 0; i < wt.length; i++) {
            wt[i] = (byte) r.nextInt(-127, 128);
        }
        int[] bias = new int[outC], mult = new int[outC], shift = new int[outC];
        for (int o = 0; o < outC; o++) {
            bias[o] = r.nextInt(-100_000, 100_000);
            mult[o] = r.nextInt(5) == 0 ? Integer.MAX_VALUE : (1 << 30) + r.nextInt(1 << 30);
            shift[o] = r.nextInt(-14, 1);
        }
        int lo = r.nextBoolean() ? -128 : r.nextInt(-128, 0);
        return new Layer.Conv(in, out, new int[] {inC, h, w}, new int[] {outC, oh, ow}, k, k, s, s, p, p, groups, wt, 8, bias, mult,
                shift, r.nextInt(-128, 128), r.nextInt(-128, 128), lo, 127);
    }

    @Test
    void convMatchesLongReferenceOverRandomShapes() {
        SplittableRandom r = new SplittableRandom(3);
        for (int t = 0; t < 300; t++) {
            int inC = r.nextInt(1, 7), h = r.nextInt(3, 10), w = r.nextInt(3, 10);
            Layer.Conv c = randomConv(r, "x", "y", inC, h, w, r.nextInt(4) == 0);
            byte[] x = new byte[inC * h * w];
            for (int i = 0; i < x.length; i++) {
                x[i] = (byte) r.nextInt(-128, 128);
            }
            assertArrayEquals(LongReference.conv(c, x), Kernels.conv(c, x), "case " + t);
        }
    }

    @Test
    void addMatchesLongReference() {
        SplittableRandom r = new SplittableRandom(4);
        for (int t = 0; t < 200; t++) {
            int am = (1 << 30) + r.nextInt(1 << 30), bm = (1 << 30) + r.nextInt(1 << 30), om = (1 << 30) + r.nextInt(1 << 30);
            int as = r.nextInt(-3, 0), bs = r.nextInt(-3, 0), os = r.nextInt(-22, -15);
            Layer.Add a = new Layer.Add("a", "b", "y", new int[] {256, 1, 1}, r.nextInt(-128, 128), am, as, r.nextInt(-128, 128), bm, bs,
                    20, r.nextInt(-128, 128), om, os, -128, 127);
            byte[] xa = new byte[256], xb = new byte[256];
            for (int i = 0; i < 256; i++) {
                xa[i] = (byte) i;
                xb[i] = (byte) r.nextInt(-128, 128);
            }
            byte[] y = Kernels.add(a, xa, xb);
            for (int i = 0; i < 256; i++) {
                long va = LongReference.multiplyByQuantizedMultiplier((xa[i] - a.aZeroPoint()) << 20, am, as);
                long vb = LongReference.multiplyByQuantizedMultiplier((xb[i] - a.bZeroPoint()) << 20, bm, bs);
                long v = a.outZeroPoint() + LongReference.multiplyByQuantizedMultiplier((int) (va + vb), om, os);
                assertEquals((byte) Math.max(-128, Math.min(127, v)), y[i]);
            }
        }
    }

    @Test
    void poolingMatchesDefinitions() {
        byte[] x = new byte[2 * 4 * 4];
        for (int i = 0; i < x.length; i++) {
            x[i] = (byte) (i * 37 - 100);
        }
        Layer.MaxPool m = new Layer.MaxPool("x", "y", new int[] {2, 4, 4}, new int[] {2, 2, 2}, 2, 2, 2, 2, 0, 0);
        byte[] y = Kernels.maxPool(m, x);
        for (int c = 0; c < 2; c++) {
            for (int oy = 0; oy < 2; oy++) {
                for (int ox = 0; ox < 2; ox++) {
                    int best = -129;
                    for (int k = 0; k < 4; k++) {
                        best = Math.max(best, x[c * 16 + (2 * oy + k / 2) * 4 + 2 * ox + k % 2]);
                    }
                    assertEquals(best, y[c * 4 + oy * 2 + ox]);
                }
            }
        }
        Layer.AvgPool g = new Layer.AvgPool("x", "y", new int[] {2, 4, 4}, new int[] {2, 1, 1}, 4, 4, 1, 1, 0, 0, false, 0);
        byte[] avg = Kernels.avgPool(g, x);
        for (int c = 0; c < 2; c++) {
            long s = 0;
            for (int i = 0; i < 16; i++) {
                s += x[c * 16 + i];
            }
            assertEquals(LongReference.roundHalfUp(java.math.BigInteger.valueOf(s), 4), avg[c], "mean of channel " + c); // s / 16
        }
    }

    @Test
    void modelRoundTripsThroughItsFileFormatAndRunsAlike() throws IOException {
        SplittableRandom r = new SplittableRandom(5);
        IntModel m = tinyModel(r);
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        m.write(bo);
        IntModel back = IntModel.read(new ByteArrayInputStream(bo.toByteArray()));
        byte[][] inputs = new byte[20][m.inputShape()[0] * m.inputShape()[1] * m.inputShape()[2]];
        for (byte[] in : inputs) {
            for (int i = 0; i < in.length; i++) {
                in[i] = (byte) r.nextInt(-128, 128);
            }
        }
        byte[][] a = new IntRunner(m).runBatch(inputs, 1);
        byte[][] b = new IntRunner(back).runBatch(inputs, 3);
        for (int i = 0; i < inputs.length; i++) {
            assertArrayEquals(a[i], b[i]);
        }
        assertEquals(m.metadata(), back.metadata());
        assertEquals(m.quantization(), back.quantization());
        assertEquals(List.copyOf(m.quantization().keySet()), List.copyOf(back.quantization().keySet()), "in the order written");
    }

    @Test
    void unknownVersionAndBadMagicAreRejected(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Path f = dir.resolve("m.zsq");
        tinyModel(new SplittableRandom(6)).save(f);
        byte[] bytes = Files.readAllBytes(f);
        bytes[7] = 9; // version 9
        Files.write(f, bytes);
        IOException e = assertThrows(IOException.class, () -> IntModel.load(f));
        assertTrue(e.getMessage().contains("version 9"), e.getMessage());
        bytes[0] = 'X';
        Files.write(f, bytes);
        assertTrue(assertThrows(IOException.class, () -> IntModel.load(f)).getMessage().contains(f.toString()));
    }

    static IntModel tinyModel(SplittableRandom r) {
        Layer.Conv c1 = randomConv(r, "in", "c1", 3, 8, 8, false);
        byte[] w4 = new byte[c1.outShape()[0] * c1.outShape()[0] * 9]; // 4-bit weights: stored packed
        for (int i = 0; i < w4.length; i++) {
            w4[i] = (byte) r.nextInt(-8, 8);
        }
        Layer.Conv c2 = new Layer.Conv("c1", "c2", c1.outShape(), c1.outShape(), 3, 3, 1, 1, 1, 1, 1,
                w4, 4, new int[c1.outShape()[0]], fill(c1.outShape()[0], 1 << 30),
                new int[c1.outShape()[0]], 0, 0, -128, 127);
        List<Layer> layers = new ArrayList<>(List.of(c1, c2));
        layers.add(new Layer.Add("c1", "c2", "sum", c1.outShape(), 0, 1 << 30, 0, 0, 1 << 30, 0, 20, 0, 1 << 30, -20, 0, 127));
        return new IntModel(Map.of("k", "v"), "in", new int[] {3, 8, 8}, "sum", c1.outShape(), layers, tinyQuantization(c1));
    }

    /**
     * The quantization of {@link #tinyModel}'s tensors, zero points as its layers use them; scales as
     * IEEE-754 single-precision bit patterns: 2^-7, 0.1f, 2^-5 and 3.0f.
     */
    static Map<String, TensorQuant> tinyQuantization(Layer.Conv c1) {
        Map<String, TensorQuant> q = new java.util.LinkedHashMap<>();
        q.put("in", new TensorQuant(0x3C000000, c1.inZeroPoint(), -128, 127));
        q.put("c1", new TensorQuant(0x3DCCCCCD, c1.outZeroPoint(), -128, 127));
        q.put("c2", new TensorQuant(0x3D000000, 0, -128, 127));
        q.put("sum", new TensorQuant(0x40400000, 0, -128, 127));
        return q;
    }

    /** Quantization of a one-layer model from {@code in} to {@code out}: every hand-built model gives its input and output one. */
    static Map<String, TensorQuant> ends(String in, String out) {
        return Map.of(in, new TensorQuant(0x3C000000, 0, -128, 127), out, new TensorQuant(0x3C800000, 0, -128, 127));
    }

    static int[] fill(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /** The runtime's inference path uses no floating point: no float or double anywhere in its sources. */
    @Test
    void runtimeSourcesHaveNoFloatingPoint() throws IOException {
        Path src = Path.of("src/main/java/io/zsq/runtime");
        List<String> offenders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String code = Files.readString(p).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "");
                if (code.matches("(?s).*\\b(float|double|Float|Double|Math\\.(round|floor|ceil|pow|sqrt|exp|log))\\b.*")) {
                    offenders.add(p.getFileName().toString());
                }
            }
        }
        assertTrue(offenders.isEmpty(), "floating point in the integer runtime: " + offenders);
        assertTrue(Files.exists(src.resolve("Kernels.java")), "the scan must see the kernels");
    }
}
