package io.zsq.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image folders written here with ImageIO (PNG values exact, JPEG close), their order, the transforms, and every refusal. */
class ImageFolderTest {
    static final int H = 3, W = 4;

    @TempDir
    Path dir;

    static int r(int y, int x) { return 10 + 40 * y + 7 * x; }
    static int g(int y, int x) { return 250 - 30 * y - 11 * x; }
    static int b(int y, int x) { return (17 * y * x + 3) % 256; }
    static int gray(int y, int x) { return 5 + 60 * y + 13 * x; }

    static BufferedImage rgb(int type) {
        BufferedImage im = new BufferedImage(W, H, type);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                im.setRGB(x, y, (0x80 << 24) | (r(y, x) << 16) | (g(y, x) << 8) | b(y, x));
            }
        }
        return im;
    }

    static BufferedImage grayImage() {
        BufferedImage im = new BufferedImage(W, H, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                im.getRaster().setSample(x, y, 0, gray(y, x));
            }
        }
        return im;
    }

    static Path write(BufferedImage im, String format, Path file) throws IOException {
        Files.createDirectories(file.getParent());
        assertTrue(ImageIO.write(im, format, file.toFile()), "ImageIO writes " + format);
        return file;
    }

    static byte[] rgbPlanes() {
        byte[] p = new byte[3 * H * W];
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                p[y * W + x] = (byte) r(y, x);
                p[H * W + y * W + x] = (byte) g(y, x);
                p[2 * H * W + y * W + x] = (byte) b(y, x);
            }
        }
        return p;
    }

    static byte[] grayPlane() {
        byte[] p = new byte[H * W];
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                p[y * W + x] = (byte) gray(y, x);
            }
        }
        return p;
    }

    static byte[] image(LabeledImages d, int i) {
        return Arrays.copyOfRange(d.pixels(), i * d.imageSize(), (i + 1) * d.imageSize());
    }

    static void assertOneLineNaming(IllegalArgumentException e, Path file) {
        String m = e.getMessage();
        assertTrue(m.contains(file.toString()), m);
        assertTrue(!m.contains("\n") && !m.contains("(null)"), m);
    }

    static IllegalArgumentException refused(Path data, int[] shape) {
        return assertThrows(IllegalArgumentException.class, () -> LabeledImages.read(data, LabeledImages.Split.TEST, 0, ImageTransform.NONE,
                shape));
    }

    @Test
    void pngValuesAreExactForRgbRgbaGrayPaletteAnd16BitGray() throws IOException {
        Path d = dir.resolve("png");
        write(rgb(BufferedImage.TYPE_INT_RGB), "png", d.resolve("a/1-rgb.png"));
        write(rgb(BufferedImage.TYPE_INT_ARGB), "png", d.resolve("b/1-rgba.png"));
        write(grayImage(), "png", d.resolve("c/1-gray.png"));
        byte[] pr = new byte[256], pg = new byte[256], pb = new byte[256];
        BufferedImage pal = new BufferedImage(W, H, BufferedImage.TYPE_BYTE_INDEXED, paletteOf(pr, pg, pb));
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                pal.getRaster().setSample(x, y, 0, y * W + x);
            }
        }
        write(pal, "png", d.resolve("d/1-palette.png"));
        BufferedImage g16 = new BufferedImage(W, H, BufferedImage.TYPE_USHORT_GRAY);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                g16.getRaster().setSample(x, y, 0, gray(y, x) * 257);
            }
        }
        write(g16, "png", d.resolve("e/1-gray16.png"));

        LabeledImages three = LabeledImages.read(d, LabeledImages.Split.TEST, 0, ImageTransform.NONE, new int[] {3, H, W});
        assertEquals(5, three.count());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, three.labels(), "class folders a..e in name order");
        byte[] planes = rgbPlanes(), g = grayPlane(), g3 = new byte[3 * H * W];
        for (int k = 0; k < 3; k++) {
            System.arraycopy(g, 0, g3, k * H * W, H * W);
        }
        assertArrayEquals(planes, image(three, 0), "RGB");
        assertArrayEquals(planes, image(three, 1), "RGBA: alpha dropped");
        assertArrayEquals(g3, image(three, 2), "gray on three planes");
        assertArrayEquals(planes, image(three, 3), "palette");
        assertArrayEquals(g3, image(three, 4), "16-bit gray");

        LabeledImages one = LabeledImages.read(d, LabeledImages.Split.TEST, 0, ImageTransform.NONE, new int[] {1, H, W});
        byte[] luma = new byte[H * W];
        for (int i = 0; i < H * W; i++) { // PIL's convert("L"), ITU-R 601-2 luma
            luma[i] = (byte) Math.round(0.299 * (planes[i] & 0xFF) + 0.587 * (planes[H * W + i] & 0xFF) + 0.114 * (planes[2 * H * W + i] & 0xFF));
        }
        assertArrayEquals(luma, image(one, 0));
        assertArrayEquals(g, image(one, 2));
        assertArrayEquals(g, image(one, 4));

        // stored as they are: the first image decides the channels
        LabeledImages asStored = LabeledImages.read(d.resolve("c").getParent(), LabeledImages.Split.TEST, 0);
        assertEquals(3, asStored.channels());
    }

    private static IndexColorModel paletteOf(byte[] pr, byte[] pg, byte[] pb) {
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                pr[y * W + x] = (byte) r(y, x);
                pg[y * W + x] = (byte) g(y, x);
                pb[y * W + x] = (byte) b(y, x);
            }
        }
        return new IndexColorModel(8, 256, pr, pg, pb);
    }

    @Test
    void jpegsDecodeCloseToWhatWasWritten() throws IOException {
        Path d = dir.resolve("jpeg");
        BufferedImage flat = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB), flatGray = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                flat.setRGB(x, y, (200 << 16) | (100 << 8) | 50);
                flatGray.getRaster().setSample(x, y, 0, 77);
            }
        }
        write(flat, "jpeg", d.resolve("color/x.jpg"));
        write(flatGray, "jpeg", d.resolve("gray/y.JPEG"));
        LabeledImages im = LabeledImages.read(d, LabeledImages.Split.TEST, 0, ImageTransform.NONE, new int[] {3, 16, 16});
        int[] want = {200, 100, 50};
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 256; i++) {
                assertEquals(want[c], im.pixels()[c * 256 + i] & 0xFF, 3, "color JPEG channel " + c);
                assertEquals(77, im.pixels()[768 + c * 256 + i] & 0xFF, 1, "gray JPEG on plane " + c);
            }
        }
    }

    @Test
    void imagesAreTakenFromTheClassesInTurnSoTheFirstNAreBalanced() throws IOException {
        Path d = dir.resolve("order");
        for (String f : new String[] {"a/3.png", "a/1.png", "a/2.png", "b/9.png", "c/5.png", "c/4.png"}) {
            BufferedImage im = new BufferedImage(2, 2, BufferedImage.TYPE_BYTE_GRAY);
            im.getRaster().setSample(0, 0, 0, Integer.parseInt(f.substring(2, 3)));
            write(im, "png", d.resolve(f));
        }
        Files.writeString(d.resolve("README.txt"), "files beside the class folders are not data");
        Files.writeString(Files.createDirectories(d.resolve("a")).resolve(".DS_Store"), "hidden files are skipped");
        LabeledImages all = LabeledImages.read(d, LabeledImages.Split.TEST, 0, ImageTransform.NONE, new int[] {1, 2, 2});
        assertArrayEquals(new int[] {0, 1, 2, 0, 2, 0}, all.labels());
        int[] first = new int[6];
        for (int i = 0; i < 6; i++) {
            first[i] = all.pixels()[4 * i];
        }
        assertArrayEquals(new int[] {1, 9, 4, 2, 5, 3}, first, "files by name within a class");
        assertArrayEquals(new int[] {0, 1, 2, 0}, LabeledImages.read(d, LabeledImages.Split.TRAIN, 4, ImageTransform.NONE,
                new int[] {1, 2, 2}).labels());
    }

    /** Bilinear with half-pixel centers, written out independently: the value at a continuous source position. */
    static double bilinearAt(int[][] img, double sy, double sx) {
        int h = img.length, w = img[0].length;
        sy = Math.max(0, sy);
        sx = Math.max(0, sx);
        int y0 = (int) Math.floor(sy), x0 = (int) Math.floor(sx);
        double fy = sy - y0, fx = sx - x0;
        int ya = Math.min(y0, h - 1), yb = Math.min(y0 + 1, h - 1), xa = Math.min(x0, w - 1), xb = Math.min(x0 + 1, w - 1);
        return img[ya][xa] * (1 - fy) * (1 - fx) + img[ya][xb] * (1 - fy) * fx + img[yb][xa] * fy * (1 - fx) + img[yb][xb] * fy * fx;
    }

    @Test
    void resizeTheShorterSideThenCenterCropMatchesAnIndependentComputation() throws IOException {
        int[][] src = {{0, 90, 255}, {30, 10, 200}}; // 2x3: the shorter side (2) to 4 gives 4x6, the center 4x4 starts at column 1
        BufferedImage im = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                im.getRaster().setSample(x, y, 0, src[y][x]);
            }
        }
        Path d = dir.resolve("resize");
        write(im, "png", d.resolve("k/img.png"));
        LabeledImages out = LabeledImages.read(d, LabeledImages.Split.TEST, 0, new ImageTransform(4, true), new int[] {1, 4, 4});
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 4; x++) {
                double v = bilinearAt(src, (y + 0.5) * 2 / 4 - 0.5, (x + 1 + 0.5) * 3 / 6 - 0.5);
                assertEquals((int) Math.floor(v + 0.5), out.pixels()[y * 4 + x] & 0xFF, "(" + y + ", " + x + ")");
            }
        }
        // by hand: output (1, 0) is resized (1, 1), source (0.25, 0.25): (0 * .75 + 90 * .25) * .75 + (30 * .75 + 10 * .25) * .25 = 23.125
        assertEquals(23, out.pixels()[4] & 0xFF);

        // shrinking 4x4 to 2x2 takes the mean of each 2x2 block (source positions 0.5 and 2.5)
        byte[] px = new byte[16];
        for (int i = 0; i < 16; i++) {
            px[i] = (byte) (i * 13 + (i % 3) * 40);
        }
        byte[] small = new byte[4];
        new ImageTransform(2, false).apply(px, 0, 1, 4, 4, 2, 2, small, 0);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 2; x++) {
                int s = 0;
                for (int k = 0; k < 4; k++) {
                    s += px[(2 * y + k / 2) * 4 + 2 * x + k % 2] & 0xFF;
                }
                assertEquals((int) Math.floor(s / 4.0 + 0.5), small[y * 2 + x] & 0xFF);
            }
        }
        // a landscape image: the height becomes the resize size, the width floor(S * w / h), as torchvision's Resize(int)
        assertArrayEquals(new int[] {10, 16}, new ImageTransform(10, false).resized(30, 49));
        assertArrayEquals(new int[] {16, 10}, new ImageTransform(10, false).resized(49, 30));
    }

    @Test
    void sizesThatDoNotFitAreOneLineNamingTheFileAndBothSizes() throws IOException {
        Path d = dir.resolve("sizes");
        Path f = write(rgb(BufferedImage.TYPE_INT_RGB), "png", d.resolve("a/odd.png"));
        IllegalArgumentException e = refused(d, new int[] {3, 32, 32});
        assertEquals(f + ": the image is 3x4 pixels (height x width), the model takes 32x32 (without the resize and center-crop options "
                + "images must be the model's size)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LabeledImages.read(d, LabeledImages.Split.TEST, 0, new ImageTransform(0, true),
                new int[] {3, 3, 8}));
        assertEquals(f + ": the image is 3x4 pixels (height x width), smaller than the model's 3x8 center crop", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LabeledImages.read(d, LabeledImages.Split.TEST, 0, new ImageTransform(6, false),
                new int[] {3, 6, 6}));
        assertEquals(f + ": the image is 3x4 pixels (height x width), 6x8 after resizing the shorter side to 6, the model takes 6x6 (add "
                + "the center-crop option)", e.getMessage());
        e = refused(d, new int[] {4, 3, 4});
        assertEquals(d + ": image folders give 1 or 3 channels, the model takes 4", e.getMessage());
    }

    @Test
    void badFoldersAndFilesAreOneLineNamingThem() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("empty-class/a"));
        write(grayImage(), "png", dir.resolve("empty-class/b/x.png"));
        assertEquals(empty + ": an empty class folder (no .png, .jpg or .jpeg files)", refused(empty.getParent(), new int[] {1, H, W}).getMessage());

        Path other = write(grayImage(), "png", dir.resolve("other/a/x.png")).resolveSibling("notes.txt");
        Files.writeString(other, "x");
        assertEquals(other + ": not a .png, .jpg or .jpeg file (class folders hold images only)", refused(dir.resolve("other"), null).getMessage());

        Path nested = write(grayImage(), "png", dir.resolve("splits/train/cat/x.png"));
        assertOneLineNaming(refused(dir.resolve("splits"), new int[] {1, H, W}), nested.getParent());

        Path junk = Files.write(Files.createDirectories(dir.resolve("junk/a")).resolve("x.png"), "not an image at all".getBytes());
        IllegalArgumentException e = refused(dir.resolve("junk"), new int[] {1, H, W});
        assertEquals(junk + ": not a PNG or JPEG image (no decoder recognizes its contents)", e.getMessage());

        Path gif = write(grayImage(), "gif", dir.resolve("gif/a/x.png"));
        assertEquals(gif + ": a GIF image, not PNG or JPEG", refused(dir.resolve("gif"), new int[] {1, H, W}).getMessage());

        // a header that claims a huge image is refused before decoding
        Path huge = Files.write(Files.createDirectories(dir.resolve("huge/a")).resolve("x.png"), withSize(png(grayImage()), 100_000, 100_000));
        e = refused(dir.resolve("huge"), new int[] {1, H, W});
        assertOneLineNaming(e, huge);
        assertTrue(e.getMessage().contains("100000x100000"), e.getMessage());

        Path none = Files.createDirectories(dir.resolve("nothing"));
        e = refused(none, new int[] {1, H, W});
        assertTrue(e.getMessage().startsWith(none + ": no images found: looked for an MNIST idx folder"), e.getMessage());
        assertTrue(e.getMessage().contains("CIFAR-10 binary") && e.getMessage().contains("PNG/JPEG"), e.getMessage());
        e = refused(dir.resolve("missing"), new int[] {1, H, W});
        assertEquals(dir.resolve("missing") + ": no such file or folder", e.getMessage());
        Path txt = Files.writeString(dir.resolve("data.txt"), "x");
        assertOneLineNaming(refused(txt, new int[] {1, H, W}), txt);
    }

    @Test
    void truncatedAndBitFlippedImagesGiveOneLineOrAnImage() throws IOException {
        byte[] png = png(rgb(BufferedImage.TYPE_INT_RGB));
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        BufferedImage big = new BufferedImage(40, 24, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < 40 * 24; i++) {
            big.setRGB(i % 40, i / 40, (int) (i * 2654435761L) & 0xFFFFFF);
        }
        ImageIO.write(big, "jpeg", bo);
        byte[] jpeg = bo.toByteArray();
        int trial = 0, refused = 0;
        for (byte[] whole : new byte[][] {png, jpeg}) {
            String ext = whole == png ? ".png" : ".jpg";
            int[] shape = whole == png ? new int[] {3, H, W} : new int[] {3, 24, 40};
            java.util.List<byte[]> damaged = new java.util.ArrayList<>();
            for (int cut : new int[] {0, 1, 8, 20, 33, whole.length / 2, whole.length - 12, whole.length - 1}) {
                damaged.add(Arrays.copyOf(whole, cut));
            }
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
            for (int k = 0; k < 40; k++) {
                byte[] b = whole.clone();
                b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                damaged.add(b);
            }
            for (byte[] b : damaged) {
                Path f = Files.write(Files.createDirectories(dir.resolve("damaged" + trial++ + "/a")).resolve("x" + ext), b);
                try {
                    LabeledImages d = LabeledImages.read(f.getParent().getParent(), LabeledImages.Split.TEST, 0, ImageTransform.NONE, shape);
                    assertEquals(1, d.count());
                    // PNG chunks carry a CRC (checked before decoding): damage is always found; JPEG has none
                    assertTrue(whole == jpeg, f + " holds a damaged PNG, loaded");
                } catch (IllegalArgumentException e) {
                    assertOneLineNaming(e, f);
                    refused++;
                } catch (RuntimeException | Error e) {
                    fail(f + ": " + e, e);
                }
            }
        }
        assertTrue(refused >= 48 + 4, "every damaged PNG is refused, and the JPEGs cut early: " + refused);
    }

    static byte[] png(BufferedImage im) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        ImageIO.write(im, "png", bo);
        return bo.toByteArray();
    }

    /** The PNG with its IHDR width and height replaced (CRC recomputed). */
    static byte[] withSize(byte[] png, int w, int h) {
        ByteBuffer b = ByteBuffer.wrap(png.clone());
        b.putInt(16, w).putInt(20, h); // signature 8, length 4, "IHDR" 4, then width and height
        CRC32 crc = new CRC32();
        crc.update(b.array(), 12, 17);
        b.putInt(29, (int) crc.getValue());
        return b.array();
    }
}
