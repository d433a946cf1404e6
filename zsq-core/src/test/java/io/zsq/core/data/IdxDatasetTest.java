package io.zsq.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed idx folders are refused with one line naming the file, never another exception type. */
class IdxDatasetTest {
    static final int N = 7, H = 5, W = 4;

    @TempDir
    Path dir;

    static byte[] images() {
        ByteBuffer b = ByteBuffer.allocate(16 + N * H * W).putInt(0x803).putInt(N).putInt(H).putInt(W);
        for (int i = 0; i < N * H * W; i++) {
            b.put((byte) (i * 37 + 11));
        }
        return b.array();
    }

    static byte[] labels() {
        ByteBuffer b = ByteBuffer.allocate(8 + N).putInt(0x801).putInt(N);
        for (int i = 0; i < N; i++) {
            b.put((byte) (i % 10));
        }
        return b.array();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (OutputStream os = new GZIPOutputStream(bos)) {
            os.write(data);
        }
        return bos.toByteArray();
    }

    /** A folder with split "t" holding the given image and label file contents. */
    Path folder(String name, byte[] im, boolean imGz, byte[] lb, boolean lbGz) throws IOException {
        Path f = Files.createDirectories(dir.resolve(name));
        Files.write(f.resolve("t-images-idx3-ubyte" + (imGz ? ".gz" : "")), im);
        Files.write(f.resolve("t-labels-idx1-ubyte" + (lbGz ? ".gz" : "")), lb);
        return f;
    }

    static void assertOneLineNaming(IllegalArgumentException e, Path file) {
        String m = e.getMessage();
        assertTrue(m.contains(file.getFileName().toString()), m);
        assertFalse(m.contains("\n"), m);
        assertFalse(m.contains("(null)"), m);
    }

    @Test
    void goodFoldersLoadPlainAndGzip() throws IOException {
        byte[] px = Arrays.copyOfRange(images(), 16, 16 + N * H * W);
        for (boolean gz : new boolean[] {false, true}) {
            byte[] im = gz ? gzip(images()) : images(), lb = gz ? gzip(labels()) : labels();
            IdxDataset d = IdxDataset.load(folder("good" + gz, im, gz, lb, gz), "t", 0);
            assertEquals(N, d.count());
            assertEquals(H, d.height());
            assertEquals(W, d.width());
            assertArrayEquals(px, d.pixels());
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6}, d.labels());
            IdxDataset first = IdxDataset.load(folder("limit" + gz, im, gz, lb, gz), "t", 3);
            assertEquals(3, first.count());
            assertArrayEquals(Arrays.copyOf(px, 3 * H * W), first.pixels());
        }
    }

    @Test
    void theBundledFashionMnistLoadsWhole() {
        // read to the end of both gzip streams, so their CRCs are checked
        IdxDataset d = IdxDataset.load(Path.of("/usr/share/datasets/fashion-mnist"), "t10k", 0);
        assertEquals(10000, d.count());
        assertEquals(28 * 28 * 10000, d.pixels().length);
        assertEquals(10, Arrays.stream(d.labels()).distinct().count());
    }

    @Test
    void truncatedFilesNameTheFileAndWhatIsMissing() throws IOException {
        for (boolean gz : new boolean[] {false, true}) {
            for (boolean cutImages : new boolean[] {true, false}) {
                byte[] whole = cutImages ? images() : labels();
                byte[] stored = gz ? gzip(whole) : whole;
                for (int cut : new int[] {0, 3, 8, 12, 15, 16, 20, stored.length / 2, stored.length - 1}) {
                    if (cut >= stored.length) {
                        continue;
                    }
                    byte[] c = Arrays.copyOf(stored, cut);
                    Path f = cutImages ? folder("cut" + gz + cut + "i", c, gz, gz ? gzip(labels()) : labels(), gz)
                                       : folder("cut" + gz + cut + "l", gz ? gzip(images()) : images(), gz, c, gz);
                    Path file = f.resolve((cutImages ? "t-images-idx3-ubyte" : "t-labels-idx1-ubyte") + (gz ? ".gz" : ""));
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IdxDataset.load(f, "t", 0),
                            "cut at " + cut + " of " + file);
                    assertOneLineNaming(e, file);
                }
            }
        }
    }

    @Test
    void truncatedMessagesSayHowMuchTheFileHolds() throws IOException {
        Path f = folder("half", Arrays.copyOf(images(), 16 + 3 * H * W + 2), false, labels(), false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IdxDataset.load(f, "t", 0));
        assertEquals(f.resolve("t-images-idx3-ubyte") + ": truncated: header says 7 images of 5x4, the file holds 3", e.getMessage());
        Path g = folder("halfgz", gzip(Arrays.copyOf(images(), 16 + 3 * H * W + 2)), true, labels(), false);
        e = assertThrows(IllegalArgumentException.class, () -> IdxDataset.load(g, "t", 0));
        assertEquals(g.resolve("t-images-idx3-ubyte.gz") + ": truncated: header says 7 images of 5x4, the gzip stream ends after 3",
                e.getMessage());
        Path h = folder("header", Arrays.copyOf(images(), 7), false, labels(), false);
        e = assertThrows(IllegalArgumentException.class, () -> IdxDataset.load(h, "t", 0));
        assertEquals(h.resolve("t-images-idx3-ubyte") + ": truncated: the idx header needs 16 bytes, the file holds 7", e.getMessage());
    }

    @Test
    void absurdHeadersAreRefusedBeforeAllocating() throws IOException {
        int[][] dims = {{-1, H, W}, {N, -5, W}, {N, H, 0}, {N, (1 << 16) + 1, W}, {Integer.MAX_VALUE, 1 << 16, 1 << 16}};
        for (int[] d : dims) {
            byte[] im = ByteBuffer.allocate(16).putInt(0x803).putInt(d[0]).putInt(d[1]).putInt(d[2]).array();
            byte[] lb = ByteBuffer.allocate(8).putInt(0x801).putInt(d[0]).array();
            for (boolean gz : new boolean[] {false, true}) {
                Path f = folder("absurd" + Arrays.toString(d) + gz, gz ? gzip(im) : im, gz, gz ? gzip(lb) : lb, gz);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IdxDataset.load(f, "t", 0));
                assertOneLineNaming(e, f.resolve("t-images-idx3-ubyte" + (gz ? ".gz" : "")));
            }
        }
    }

    @Test
    void corruptGzipSaysSo() throws IOException {
        Path f = folder("notgz", images(), false, labels(), false);
        Files.move(f.resolve("t-images-idx3-ubyte"), f.resolve("t-images-idx3-ubyte.gz"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IdxDataset.load(f, "t", 0));
        assertTrue(e.getMessage().startsWith(f.resolve("t-images-idx3-ubyte.gz") + ": not a valid gzip file ("), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void bitFlipsGiveOneLineOrTheRightData() throws IOException {
        SplittableRandom rnd = new SplittableRandom(20240611);
        byte[] px = Arrays.copyOfRange(images(), 16, 16 + N * H * W);
        int refused = 0;
        for (int trial = 0; trial < 400; trial++) {
            boolean gz = trial % 2 == 1, flipImages = (trial / 2) % 2 == 0;
            byte[] whole = flipImages ? images() : labels();
            byte[] stored = gz ? gzip(whole) : whole;
            // plain files: flips in the header (the pixel bytes carry no check); gzip: anywhere in the stream
            int header = flipImages ? 16 : 8;
            int pos = gz ? rnd.nextInt(stored.length) : rnd.nextInt(header);
            stored[pos] ^= (byte) (1 << rnd.nextInt(8));
            byte[] im = flipImages ? stored : gz ? gzip(images()) : images();
            byte[] lb = flipImages ? (gz ? gzip(labels()) : labels()) : stored;
            Path f = folder("flip" + trial, im, gz, lb, gz);
            Path file = f.resolve((flipImages ? "t-images-idx3-ubyte" : "t-labels-idx1-ubyte") + (gz ? ".gz" : ""));
            try {
                IdxDataset d = IdxDataset.load(f, "t", 0);
                assertEquals(N, d.count(), "flip at " + pos + " of " + file);
                if (gz) { // the gzip CRC covers the data: a load that succeeds has the original data
                    assertArrayEquals(px, d.pixels(), "flip at " + pos + " of " + file);
                    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6}, d.labels());
                }
            } catch (IllegalArgumentException e) {
                assertOneLineNaming(e, file);
                refused++;
            } catch (RuntimeException | Error e) {
                fail("flip at " + pos + " of " + file + ": " + e, e);
            }
        }
        assertTrue(refused > 100, "only " + refused + " of 400 flips refused");
    }
}
