package io.zsq.core.data;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Labelled images as a folder of class folders ({@code DIR/<class>/<image>.png|.jpg|.jpeg}), as
 * torchvision's {@code ImageFolder}: the class folders sorted by name give the label indices, the files
 * of a class are sorted by name. Images are taken from the classes in turn (the first of every class,
 * then the second of every class, ...), so the first N images of a folder are a balanced sample.
 *
 * <p>Decoded with {@code javax.imageio}: grayscale (8 or 16 bits, alpha dropped), RGB (alpha dropped, as
 * PIL's {@code convert("RGB")}), palette; stored values are taken as they are (no color-profile
 * conversion, as PIL). A 3-channel model gets grayscale images repeated on 3 planes, a 1-channel model
 * gets RGB images as PIL's {@code convert("L")} luma ({@code (19595 R + 38470 G + 7471 B + 2^15) >> 16}).
 * Files whose names start with '.' are skipped; anything else that is not a decodable PNG or JPEG, a PNG
 * chunk whose CRC is wrong or that is cut short (checked before decoding), a decoder warning (a truncated
 * JPEG), an empty class folder, or an image the transform cannot bring to the model's size is refused
 * with one line naming the file. JPEG carries no checksum: a flipped bit there is not detectable.
 */
public final class ImageFolder {
    private ImageFolder() {}

    /** Largest image decoded (pixels), checked from its header before decoding. */
    static final long MAX_IMAGE_PIXELS = 1L << 26;

    /** The class folders of {@code dir}, sorted by name: their index is the label. */
    public static List<Path> classes(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.getFileName().toString().startsWith(".") && Files.isDirectory(p))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(dir + ": cannot list the folder (" + LabeledImages.oneLine(e) + ")", e);
        }
    }

    /** The images of one class folder, sorted by name. */
    static List<Path> images(Path dir, Path cls) {
        List<Path> entries;
        try (Stream<Path> s = Files.list(cls)) {
            entries = s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted(Comparator.comparing(q -> q.getFileName().toString()))
                    .toList();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(cls + ": cannot list the folder (" + LabeledImages.oneLine(e) + ")", e);
        }
        for (Path p : entries) {
            if (Files.isDirectory(p)) {
                throw new IllegalArgumentException(p + ": a folder inside the class folder " + cls.getFileName() + " (an image folder is "
                        + "DIR/<class>/<image>; if " + dir + " holds splits, give the split's folder, e.g. " + cls + ")");
            }
            String lower = p.getFileName().toString().toLowerCase(Locale.ROOT);
            if (!(lower.endsWith(".png") || lower.endsWith(".jpg") || lower.endsWith(".jpeg"))) {
                throw new IllegalArgumentException(p + ": not a .png, .jpg or .jpeg file (class folders hold images only)");
            }
        }
        if (entries.isEmpty()) {
            throw new IllegalArgumentException(cls + ": an empty class folder (no .png, .jpg or .jpeg files)");
        }
        return entries;
    }

    /**
     * @param limit at most this many images (the first in the order above), or all when {@code <= 0}
     * @param inputShape the model's {@code [channels (1 or 3), height, width]}, or null to keep the stored size (every image the same)
     *     and channels (1 when the first image is grayscale, else 3)
     */
    public static LabeledImages load(Path dir, int limit, ImageTransform t, int[] inputShape) {
        List<Path> classes = classes(dir);
        if (classes.isEmpty()) {
            throw new IllegalArgumentException(dir + ": no class folders");
        }
        if (inputShape != null && inputShape[0] != 1 && inputShape[0] != 3) {
            throw new IllegalArgumentException(dir + ": image folders give 1 or 3 channels, the model takes " + inputShape[0]);
        }
        if (inputShape == null && !t.isNone()) {
            throw new IllegalArgumentException(dir + ": resize and center-crop need the model's input size");
        }
        List<List<Path>> perClass = new ArrayList<>();
        int total = 0, longest = 0;
        for (Path c : classes) {
            List<Path> l = images(dir, c);
            perClass.add(l);
            total += l.size();
            longest = Math.max(longest, l.size());
        }
        int n = limit > 0 ? Math.min(limit, total) : total;
        List<Path> files = new ArrayList<>(n);
        int[] labels = new int[n];
        for (int i = 0; i < longest && files.size() < n; i++) {
            for (int c = 0; c < perClass.size() && files.size() < n; c++) {
                if (i < perClass.get(c).size()) {
                    labels[files.size()] = c;
                    files.add(perClass.get(c).get(i));
                }
            }
        }
        int ch = 0, h = 0, w = 0;
        byte[] px = null;
        for (int i = 0; i < n; i++) {
            Path f = files.get(i);
            Decoded d = decode(f);
            if (px == null) {
                ch = inputShape != null ? inputShape[0] : d.channels();
                h = inputShape != null ? inputShape[1] : d.height();
                w = inputShape != null ? inputShape[2] : d.width();
                if ((long) n * ch * h * w > LabeledImages.MAX_PIXELS) {
                    throw new IllegalArgumentException(dir + ": " + n + " images of " + ch + "x" + h + "x" + w
                            + " do not fit one array (2 GiB): use a smaller limit");
                }
                px = new byte[n * ch * h * w];
            }
            byte[] img = d.planes(ch);
            String wrong = t.mismatch(d.height(), d.width(), h, w);
            if (wrong != null) {
                throw new IllegalArgumentException(f + ": the image is " + wrong + (inputShape == null ? " (the first image's size)" : ""));
            }
            try {
                t.apply(img, 0, ch, d.height(), d.width(), h, w, px, i * ch * h * w);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(f + ": " + e.getMessage(), e);
            }
        }
        return new LabeledImages.Of(n, ch, h, w, px, labels);
    }

    /** One decoded image: its stored channels (1 gray, 3 RGB), planes row-major. */
    record Decoded(int channels, int height, int width, byte[] pixels) {
        /** As {@code c} channels (1 or 3). */
        byte[] planes(int c) {
            if (c == channels) {
                return pixels;
            }
            int plane = height * width;
            byte[] out = new byte[c * plane];
            if (c == 3) { // gray on three planes
                for (int k = 0; k < 3; k++) {
                    System.arraycopy(pixels, 0, out, k * plane, plane);
                }
            } else { // PIL's convert("L")
                for (int i = 0; i < plane; i++) {
                    int r = pixels[i] & 0xFF, g = pixels[plane + i] & 0xFF, b = pixels[2 * plane + i] & 0xFF;
                    out[i] = (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
                }
            }
            return out;
        }
    }

    /** Decodes one PNG or JPEG; every failure (and every decoder warning) is one line naming the file. */
    static Decoded decode(Path f) {
        byte[] bytes;
        try {
            long size = Files.size(f);
            if (size > MAX_FILE_BYTES) {
                throw new IllegalArgumentException(f + ": " + size + " bytes: not a plausible image file (at most " + MAX_FILE_BYTES + ")");
            }
            bytes = Files.readAllBytes(f);
        } catch (IOException e) {
            throw new IllegalArgumentException(f + ": cannot read (" + LabeledImages.oneLine(e) + ")", e);
        }
        if (bytes.length >= 8 && Arrays.equals(bytes, 0, 8, PNG_SIGNATURE, 0, 8)) {
            checkPngChunks(bytes, f);
        }
        BufferedImage img;
        List<String> warnings = new ArrayList<>();
        String format;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new Refused(f + ": not a PNG or JPEG image (no decoder recognizes its contents)");
            }
            ImageReader r = readers.next();
            format = r.getFormatName().toLowerCase(Locale.ROOT);
            if (!format.equals("png") && !format.equals("jpeg")) {
                r.dispose();
                throw new Refused(f + ": a " + format.toUpperCase(Locale.ROOT) + " image, not PNG or JPEG");
            }
            try {
                r.setInput(in, true, true);
                r.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                long w = r.getWidth(0), h = r.getHeight(0);
                if (w < 1 || h < 1 || w * h > MAX_IMAGE_PIXELS) {
                    throw new Refused(f + ": " + w + "x" + h + " pixels (width x height): not a plausible image (at most "
                            + MAX_IMAGE_PIXELS + " pixels are decoded)");
                }
                img = r.read(0);
            } finally {
                r.dispose();
            }
        } catch (Refused e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(f + ": not a readable PNG or JPEG image (" + LabeledImages.oneLine(e) + ")", e);
        }
        if (!warnings.isEmpty()) { // e.g. a JPEG cut short decodes to gray with a warning: never data
            throw new IllegalArgumentException(f + ": damaged " + format.toUpperCase(Locale.ROOT) + " image (" + oneLine(warnings.get(0)) + ")");
        }
        return pixels(img, f);
    }

    /** A refusal made here, already naming the file. */
    private static final class Refused extends IllegalArgumentException {
        Refused(String m) {
            super(m);
        }
    }

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    /** Largest image file read. */
    static final long MAX_FILE_BYTES = 1L << 30;

    /**
     * Every chunk of a PNG whole and its CRC right, up to IEND (the decoder checks none of it: a flipped bit
     * in the image data would otherwise decode to other pixels).
     */
    static void checkPngChunks(byte[] b, Path f) {
        int pos = 8;
        CRC32 crc = new CRC32();
        while (true) {
            if (pos + 12 > b.length) {
                throw new IllegalArgumentException(f + ": truncated PNG: the file ends at byte " + b.length + " before its IEND chunk");
            }
            long len = ByteBuffer.wrap(b, pos, 4).getInt() & 0xFFFFFFFFL;
            String type = new String(b, pos + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            if (len > b.length - pos - 12L) {
                throw new IllegalArgumentException(f + ": truncated PNG: chunk " + printable(type) + " at byte " + pos + " declares " + len
                        + " bytes, the file holds " + Math.max(0, b.length - pos - 12));
            }
            crc.reset();
            crc.update(b, pos + 4, 4 + (int) len);
            int stored = ByteBuffer.wrap(b, pos + 8 + (int) len, 4).getInt();
            if ((int) crc.getValue() != stored) {
                throw new IllegalArgumentException(f + ": damaged PNG: CRC mismatch in chunk " + printable(type) + " at byte " + pos);
            }
            if (type.equals("IEND")) {
                return;
            }
            pos += 12 + (int) len;
        }
    }

    private static String printable(String type) {
        return type.chars().allMatch(c -> c >= 'A' && c <= 'z' && Character.isLetter(c)) ? type : "(unreadable type)";
    }

    private static String oneLine(String s) {
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).strip();
    }

    /** Stored values as planes: 1 channel for grayscale, 3 for color (alpha dropped). */
    static Decoded pixels(BufferedImage img, Path f) {
        int w = img.getWidth(), h = img.getHeight(), plane = w * h;
        ColorModel cm = img.getColorModel();
        Raster ras = img.getRaster();
        boolean indexed = cm instanceof IndexColorModel;
        int colors = cm.getNumColorComponents();
        if (!indexed && colors == 1) {
            byte[] out = new byte[plane];
            int bits = cm.getComponentSize(0);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    out[y * w + x] = (byte) scale(ras.getSample(x, y, 0), bits);
                }
            }
            return new Decoded(1, h, w, out);
        }
        byte[] out = new byte[3 * plane];
        if (!indexed && colors == 3 && cm.getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_RGB) {
            for (int c = 0; c < 3; c++) {
                int bits = cm.getComponentSize(c);
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        out[c * plane + y * w + x] = (byte) scale(ras.getSample(x, y, c), bits);
                    }
                }
            }
        } else { // palette, or another color space: the decoder's sRGB values
            boolean gray = indexed;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int argb = img.getRGB(x, y), r = (argb >> 16) & 0xFF, g = (argb >> 8) & 0xFF, b = argb & 0xFF;
                    out[y * w + x] = (byte) r;
                    out[plane + y * w + x] = (byte) g;
                    out[2 * plane + y * w + x] = (byte) b;
                    gray &= r == g && g == b;
                }
            }
            if (gray) { // a gray palette is a grayscale image
                return new Decoded(1, h, w, Arrays.copyOf(out, plane));
            }
        }
        return new Decoded(3, h, w, out);
    }

    /** A {@code bits}-bit sample as 8 bits (rounded). */
    private static int scale(int v, int bits) {
        if (bits == 8) {
            return v;
        }
        long max = (1L << bits) - 1;
        return (int) ((v * 255L + max / 2) / max);
    }
}
