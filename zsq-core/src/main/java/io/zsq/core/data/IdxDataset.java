package io.zsq.core.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Labelled images from an MNIST-format idx folder (e.g. Debian's {@code /usr/share/datasets/fashion-mnist}):
 * {@code <split>-images-idx3-ubyte[.gz]} and {@code <split>-labels-idx1-ubyte[.gz]}. Pixels are kept as
 * unsigned bytes; {@link Preprocessing} turns them into model inputs.
 */
public record IdxDataset(int count, int channels, int height, int width, byte[] pixels, int[] labels) implements java.io.Serializable {

    public static IdxDataset load(Path folder, String split, int limit) {
        Path images = find(folder, split + "-images-idx3-ubyte");
        Path labels = find(folder, split + "-labels-idx1-ubyte");
        try (DataInputStream im = open(images); DataInputStream lb = open(labels)) {
            int magic = im.readInt();
            if (magic != 0x803) {
                throw new IllegalArgumentException(images + ": not an idx3 ubyte image file (magic " + Integer.toHexString(magic) + ")");
            }
            int n = im.readInt(), h = im.readInt(), w = im.readInt();
            if (lb.readInt() != 0x801) {
                throw new IllegalArgumentException(labels + ": not an idx1 ubyte label file");
            }
            int nl = lb.readInt();
            if (nl != n) {
                throw new IllegalArgumentException(folder + ": " + n + " images but " + nl + " labels");
            }
            int count = limit > 0 ? Math.min(limit, n) : n;
            byte[] px = new byte[count * h * w];
            im.readFully(px);
            int[] y = new int[count];
            for (int i = 0; i < count; i++) {
                y[i] = lb.readUnsignedByte();
            }
            return new IdxDataset(count, 1, h, w, px, y);
        } catch (IOException e) {
            throw new IllegalArgumentException(folder + ": cannot read idx data (" + e.getMessage() + ")", e);
        }
    }

    private static Path find(Path folder, String base) {
        for (String name : new String[] {base, base + ".gz"}) {
            Path p = folder.resolve(name);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new IllegalArgumentException(folder + ": no " + base + " or " + base + ".gz (expected an MNIST-format idx folder)");
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(p), 1 << 16);
        if (p.toString().endsWith(".gz")) {
            in = new GZIPInputStream(in, 1 << 16);
        }
        return new DataInputStream(in);
    }

    public int imageSize() {
        return channels * height * width;
    }

    /** Images {@code [from, from + n)} preprocessed into one NCHW float batch. */
    public float[] batch(int from, int n, Preprocessing pre) {
        int sz = imageSize();
        float[] x = new float[n * sz];
        for (int i = 0; i < n; i++) {
            pre.apply(pixels, (from + i) * sz, x, i * sz, channels, height * width);
        }
        return x;
    }
}
