package io.zsq.core.data;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Labelled images from an MNIST-format idx folder (e.g. Debian's {@code /usr/share/datasets/fashion-mnist}):
 * {@code <split>-images-idx3-ubyte[.gz]} and {@code <split>-labels-idx1-ubyte[.gz]}. Pixels are kept as
 * unsigned bytes; {@link Preprocessing} turns them into model inputs.
 *
 * <p>A malformed folder is refused with one line naming the file and what is wrong: a missing file, a
 * wrong magic number, implausible header dimensions (refused before anything is allocated), a file
 * shorter or longer than its header says, a corrupt gzip stream (read to its end, so the gzip CRC is
 * checked, when the whole split is loaded), or image and label counts that differ. {@link LabeledImages#read}
 * finds idx folders among the other formats.
 */
public record IdxDataset(int count, int channels, int height, int width, byte[] pixels, int[] labels) implements LabeledImages {

    /** Largest image side accepted from a header. */
    static final int MAX_SIDE = 1 << 16;

    /**
     * @param limit at most this many images (the first ones), or all when {@code <= 0}
     * @throws IllegalArgumentException with a one-line message naming the file and the problem
     */
    public static IdxDataset load(Path folder, String split, int limit) {
        Path images = find(folder, split + "-images-idx3-ubyte");
        Path labels = find(folder, split + "-labels-idx1-ubyte");
        try (Source im = Source.open(images); Source lb = Source.open(labels)) {
            int[] ih = im.header(4);
            int magic = ih[0];
            if (magic != 0x803) {
                throw new IllegalArgumentException(images + ": not an idx3 ubyte image file (magic 0x" + Integer.toHexString(magic) + ", expected 0x803)");
            }
            int n = ih[1], h = ih[2], w = ih[3];
            if (n < 0 || h <= 0 || w <= 0 || h > MAX_SIDE || w > MAX_SIDE) {
                throw new IllegalArgumentException(images + ": implausible idx header: " + n + " images of " + h + "x" + w);
            }
            int[] lh = lb.header(2);
            int lmagic = lh[0];
            if (lmagic != 0x801) {
                throw new IllegalArgumentException(labels + ": not an idx1 ubyte label file (magic 0x" + Integer.toHexString(lmagic) + ", expected 0x801)");
            }
            int nl = lh[1];
            if (nl != n) {
                throw new IllegalArgumentException(images + " holds " + n + " images but " + labels.getFileName() + " " + nl + " labels");
            }
            int count = limit > 0 ? Math.min(limit, n) : n;
            long imageBytes = (long) h * w;
            if ((long) count * imageBytes > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(images + ": " + count + " images of " + h + "x" + w + " do not fit one array (2 GiB): use a smaller limit");
            }
            String what = n + " images of " + h + "x" + w;
            im.checkSize(n, imageBytes, what);
            lb.checkSize(n, 1, n + " labels");
            byte[] px = im.read(count, imageBytes, what);
            byte[] y8 = lb.read(count, 1, n + " labels");
            if (count == n) {
                im.expectEnd(what);
                lb.expectEnd(n + " labels");
            }
            int[] y = new int[count];
            for (int i = 0; i < count; i++) {
                y[i] = y8[i] & 0xFF;
            }
            return new IdxDataset(count, 1, h, w, px, y);
        } catch (IOException e) {
            // Source reports its own failures as IllegalArgumentException; what remains is closing
            throw new IllegalArgumentException(folder + ": cannot read idx data (" + Source.reason(e) + ")", e);
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

    /** One idx file, plain or gzip, read with a count of the (decompressed) bytes consumed. */
    private static final class Source implements Closeable {
        private static final int CHUNK = 1 << 20;
        final Path file;
        final boolean gz;
        final long fileSize;
        final InputStream in;
        long consumed;
        /** The gzip stream ended before its end marker and trailer. */
        boolean cut;

        private Source(Path file, boolean gz, long fileSize, InputStream in) {
            this.file = file;
            this.gz = gz;
            this.fileSize = fileSize;
            this.in = in;
        }

        static Source open(Path p) {
            boolean gz = p.getFileName().toString().endsWith(".gz");
            InputStream raw = null;
            try {
                long size = Files.size(p);
                raw = new BufferedInputStream(Files.newInputStream(p), 1 << 16);
                InputStream in = gz ? new GZIPInputStream(raw, 1 << 16) : raw;
                return new Source(p, gz, size, in);
            } catch (IOException | RuntimeException e) {
                closeQuietly(raw);
                if (e instanceof EOFException) {
                    throw new IllegalArgumentException(p + ": not a valid gzip file (empty, or cut inside the gzip header)", e);
                }
                throw failure(p, gz, e);
            }
        }

        /** The header: {@code ints} big-endian int32 values (magic first). */
        int[] header(int ints) {
            byte[] b = new byte[4 * ints];
            int got = fill(b, 0, b.length);
            if (got < b.length) {
                throw new IllegalArgumentException(file + ": truncated: the idx header needs " + b.length + " bytes, the "
                        + (gz ? "decompressed " : "") + "file holds " + got);
            }
            int[] v = new int[ints];
            for (int i = 0; i < ints; i++) {
                v[i] = ((b[4 * i] & 0xFF) << 24) | ((b[4 * i + 1] & 0xFF) << 16) | ((b[4 * i + 2] & 0xFF) << 8) | (b[4 * i + 3] & 0xFF);
            }
            return v;
        }

        /** For a plain file the size is known: it must be exactly the header plus {@code n} items. */
        void checkSize(long n, long itemBytes, String what) {
            if (gz) {
                return;
            }
            long expected = consumed + n * itemBytes, held = (fileSize - consumed) / itemBytes;
            if (fileSize < expected) {
                throw new IllegalArgumentException(file + ": truncated: header says " + what + ", the file holds " + held);
            }
            if (fileSize > expected) {
                throw new IllegalArgumentException(file + ": " + (fileSize - expected) + " bytes after the " + what
                        + " the header declares (a damaged header, or not an idx file of this shape)");
            }
        }

        /**
         * The first {@code count} of {@code n} items of {@code itemBytes} each. The array grows with the
         * data that actually arrives, so a header that lies about a gzip stream's length allocates little.
         */
        byte[] read(int count, long itemBytes, String what) {
            int total = (int) (count * itemBytes);
            byte[] out = new byte[Math.min(total, CHUNK)];
            int at = 0;
            while (at < total) {
                if (at == out.length) {
                    out = Arrays.copyOf(out, (int) Math.min(total, 2L * out.length));
                }
                int want = out.length - at, got = fill(out, at, want);
                at += got;
                if (got < want) {
                    throw new IllegalArgumentException(file + ": truncated: header says " + what + ", the "
                            + (gz ? "gzip stream ends after " : "file holds ") + at / itemBytes);
                }
            }
            return out;
        }

        /** After the last item: nothing may follow (for gzip this also checks the stream's CRC and length). */
        void expectEnd(String what) {
            byte[] one = new byte[1];
            int got = fill(one, 0, 1);
            if (cut) {
                throw new IllegalArgumentException(file + ": truncated: the gzip stream is cut short after the " + what);
            }
            if (got > 0) {
                throw new IllegalArgumentException(file + ": data after the " + what
                        + " the header declares (a damaged header, or not an idx file of this shape)");
            }
        }

        /** Reads up to {@code len} bytes, fewer only at the end of the data; failures become one line. */
        private int fill(byte[] b, int off, int len) {
            int done = 0;
            try {
                while (done < len) {
                    int r = in.read(b, off + done, len - done);
                    if (r < 0) {
                        break;
                    }
                    done += r;
                }
            } catch (EOFException e) {
                cut = true; // a gzip stream cut short: a short read, the caller says what was missing
            } catch (IOException | RuntimeException e) {
                throw failure(file, gz, e);
            }
            consumed += done;
            return done;
        }

        private static IllegalArgumentException failure(Path file, boolean gz, Exception e) {
            if (gz && (e instanceof ZipException || e instanceof RuntimeException)) {
                return new IllegalArgumentException(file + ": not a valid gzip file (" + reason(e) + ")", e);
            }
            return new IllegalArgumentException(file + ": cannot read (" + reason(e) + ")", e);
        }

        static String reason(Exception e) {
            String m = e.getMessage();
            if (m == null || m.isBlank()) {
                return e.getClass().getSimpleName();
            }
            int nl = m.indexOf('\n');
            return nl < 0 ? m : m.substring(0, nl);
        }

        private static void closeQuietly(InputStream s) {
            if (s != null) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // already failing
                }
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

}
