package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The version-3 fixture still reads, with its typed quantization, and runs as the slow reference says;
 * version-1 and version-2 files are refused, naming the file and why; truncated or corrupt files fail
 * with one IOException naming the file.
 */
class FormatCompatibilityTest {
    static final Path GOLDEN = Path.of("src/test/resources/golden-v3.zsq");
    static final Path V2 = Path.of("src/test/resources/golden-v2.zsq");
    static final Path V1 = Path.of("src/test/resources/golden-v1.zsq");

    @Test
    void version3FixtureReadsAndRewritesToTheSameBytes() throws Exception {
        IntModel m = IntModel.load(GOLDEN);
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        m.write(bo);
        assertArrayEquals(Files.readAllBytes(GOLDEN), bo.toByteArray());
        assertEquals(Map.of("k", "v"), m.metadata());
        assertEquals(3, m.layers().size());
    }

    /** The scales come back as the exact bit patterns written (2^-7, 0.1f, 2^-5, 3.0f), in the order written. */
    @Test
    void version3FixtureCarriesTypedQuantization() throws Exception {
        IntModel m = IntModel.load(GOLDEN);
        Layer.Conv c1 = (Layer.Conv) m.layers().get(0);
        Map<String, TensorQuant> expected = KernelsTest.tinyQuantization(c1);
        assertEquals(expected, m.quantization());
        assertEquals(List.of("in", "c1", "c2", "sum"), List.copyOf(m.quantization().keySet()));
        assertEquals(new TensorQuant(0x3DCCCCCD, c1.outZeroPoint(), -128, 127), m.quantization().get("c1"));
        assertEquals(c1.inZeroPoint(), m.quantization().get(m.inputName()).zeroPoint());
        assertThrows(UnsupportedOperationException.class, () -> m.quantization().put("x", expected.get("in")));
    }

    @Test
    void version2IsRefusedWithTheReason() {
        IOException e = assertThrows(IOException.class, () -> IntModel.load(V2));
        assertTrue(e.getMessage().contains("golden-v2.zsq") && e.getMessage().contains("version 2")
                && e.getMessage().contains("quantization parameters as text") && e.getMessage().contains("re-run zsq quantize")
                && e.getMessage().contains("version 3"), e.getMessage());
    }

    /** Every prefix of the fixture is a truncated file: each fails with one line that names the file, never with another exception. */
    @Test
    void truncatedFilesFailNamingTheFile(@TempDir Path dir) throws Exception {
        byte[] bytes = Files.readAllBytes(GOLDEN);
        Path f = dir.resolve("cut.zsq");
        for (int n = 0; n < bytes.length; n++) {
            Files.write(f, Arrays.copyOf(bytes, n));
            IOException e = assertThrows(IOException.class, () -> IntModel.load(f), "prefix of " + n + " bytes");
            assertTrue(e.getMessage().startsWith(f.toString() + ": ") && !e.getMessage().contains("\n"), n + ": " + e.getMessage());
        }
    }

    /**
     * Corrupt files: every int of the fixture replaced by values that make absurd counts and lengths
     * (negative, huge, a little too large, too small), and every byte by 0x80 and 0xFF. Each either still reads
     * (a changed weight is a valid model) or fails with one IOException naming the file: never an
     * OutOfMemoryError, a NegativeArraySizeException or an index out of bounds.
     */
    @Test
    void corruptFilesFailNamingTheFile(@TempDir Path dir) throws Exception {
        byte[] bytes = Files.readAllBytes(GOLDEN);
        Path f = dir.resolve("bad.zsq");
        int failures = 0;
        for (int at = 0; at < bytes.length; at++) {
            for (int v : new int[] {-1, Integer.MAX_VALUE, 1 << 28, (1 << 28) + 1, 1 << 20, 300, 0, 2}) {
                if (at + 4 <= bytes.length) {
                    byte[] b = bytes.clone();
                    ByteBuffer.wrap(b, at, 4).putInt(v);
                    failures += loadsOrFailsNamingTheFile(f, b) ? 0 : 1;
                }
            }
            for (int v : new int[] {0x80, 0xFF}) {
                byte[] b = bytes.clone();
                b[at] = (byte) v;
                failures += loadsOrFailsNamingTheFile(f, b) ? 0 : 1;
            }
        }
        assertTrue(failures > bytes.length, "most corruptions are detected: " + failures);
    }

    /** True when {@code b} loads; false when it fails as it should; anything else fails the test. */
    private static boolean loadsOrFailsNamingTheFile(Path f, byte[] b) throws IOException {
        Files.write(f, b);
        try {
            IntModel.load(f);
            return true;
        } catch (IOException e) {
            assertTrue(e.getMessage().startsWith(f.toString() + ": ") && !e.getMessage().contains("\n"), e.getMessage());
            return false;
        }
    }

    /** Weights of 2-4 bits are stored two per byte and come back equal, odd counts included; 8-bit ones are not packed. */
    @Test
    void lowBitWeightsArePackedTwoPerByte() throws Exception {
        SplittableRandom r = new SplittableRandom(9);
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (int outC : new int[] {3, 4}) { // 3 x 3 x 1 x 1 = 9 weights: an odd count
                byte[] w = new byte[outC * 3];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (byte) r.nextInt(-(1 << (bits - 1)), 1 << (bits - 1));
                }
                Layer.Conv c = new Layer.Conv("x", "y", new int[] {3, 2, 2}, new int[] {outC, 2, 2}, 1, 1, 1, 1, 0, 0, 1, w, bits,
                        new int[outC], KernelsTest.fill(outC, 1 << 30), new int[outC], 0, 0, -128, 127);
                IntModel m = new IntModel(Map.of(), "x", new int[] {3, 2, 2}, "y", new int[] {outC, 2, 2}, List.of(c),
                        KernelsTest.ends("x", "y"));
                ByteArrayOutputStream bo = new ByteArrayOutputStream();
                m.write(bo);
                Layer.Conv back = (Layer.Conv) IntModel.read(new java.io.ByteArrayInputStream(bo.toByteArray())).layers().get(0);
                assertArrayEquals(w, back.weights(), bits + "-bit weights, " + w.length);
                IntModel eight = new IntModel(Map.of(), "x", new int[] {3, 2, 2}, "y", new int[] {outC, 2, 2}, List.of(new Layer.Conv("x", "y",
                        new int[] {3, 2, 2}, new int[] {outC, 2, 2}, 1, 1, 1, 1, 0, 0, 1, w, 8, new int[outC], KernelsTest.fill(outC, 1 << 30),
                        new int[outC], 0, 0, -128, 127)), KernelsTest.ends("x", "y"));
                ByteArrayOutputStream b8 = new ByteArrayOutputStream();
                eight.write(b8);
                int saved = b8.size() - bo.size();
                assertEquals(bits <= 4 ? w.length / 2 : 0, saved, bits + "-bit file is smaller by half the weights");
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Layer.Conv("x", "y", new int[] {1, 1, 1},
                new int[] {1, 1, 1}, 1, 1, 1, 1, 0, 0, 1, new byte[] {8}, 4, new int[1], new int[] {1 << 30}, new int[1], 0, 0, -128, 127));
        assertTrue(e.getMessage().contains("4-bit range"), e.getMessage());
    }

    @Test
    void version1IsRefusedWithTheReason() {
        IOException e = assertThrows(IOException.class, () -> IntModel.load(V1));
        assertTrue(e.getMessage().contains("golden-v1.zsq") && e.getMessage().contains("version 1")
                && e.getMessage().contains("re-run zsq quantize"), e.getMessage());
    }

    @Test
    void fixtureRunsLikeTheLongReference() throws Exception {
        IntModel m = IntModel.load(GOLDEN);
        Layer.Conv c1 = (Layer.Conv) m.layers().get(0);
        SplittableRandom r = new SplittableRandom(8);
        byte[] x = new byte[3 * 8 * 8];
        for (int i = 0; i < x.length; i++) {
            x[i] = (byte) r.nextInt(-128, 128);
        }
        assertArrayEquals(LongReference.conv(c1, x), Kernels.conv(c1, x));
        assertEquals(c1.outShape()[0] * c1.outShape()[1] * c1.outShape()[2], new IntRunner(m).run(x).length);
    }
}
