package io.zsq.core.data;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Labelled images as unsigned-byte pixels, each image NCHW ({@code channels} planes of {@code height x
 * width}, row-major), one label (class index) per image. Serializable: it is shipped to Spark tasks.
 *
 * <p>{@link #read} takes any of the formats users have and picks the format by what the path holds:
 * <ul>
 * <li>an MNIST-format idx folder ({@link IdxDataset}: {@code t10k-*} for {@link Split#TEST},
 *     {@code train-*} for {@link Split#TRAIN});</li>
 * <li>CIFAR-10 binary ({@link CifarBinary}): a {@code .bin} file (read as given for either split), or a
 *     folder of them ({@code test_batch.bin} for TEST; {@code data_batch_*.bin}, else {@code train_*.bin},
 *     for TRAIN);</li>
 * <li>an image folder ({@link ImageFolder}): one subfolder per class, PNG or JPEG files in each (read
 *     as given for either split).</li>
 * </ul>
 * Every failure is an {@link IllegalArgumentException} with one line naming the file and what is wrong.
 */
public interface LabeledImages extends Serializable {

    /** Which part of a dataset to read where a path holds several. */
    enum Split {
        /** Held-out images for evaluation: idx {@code t10k}, CIFAR {@code test_batch.bin}. */
        TEST,
        /** Training images for the real-data upper bound: idx {@code train}, CIFAR {@code data_batch_*.bin} or {@code train_*.bin}. */
        TRAIN
    }

    /** Largest pixel array one set may hold (one Java array). */
    long MAX_PIXELS = Integer.MAX_VALUE - 8;

    int count();

    int channels();

    int height();

    int width();

    /** {@code count x channels x height x width} unsigned bytes. */
    byte[] pixels();

    /** {@code count} class indices. */
    int[] labels();

    default int imageSize() {
        return channels() * height() * width();
    }

    /** Images {@code [from, from + n)} preprocessed into one NCHW float batch. */
    default float[] batch(int from, int n, Preprocessing pre) {
        int sz = imageSize();
        float[] x = new float[n * sz];
        byte[] px = pixels();
        for (int i = 0; i < n; i++) {
            pre.apply(px, (from + i) * sz, x, i * sz, channels(), height() * width());
        }
        return x;
    }

    /** Images and labels as given (the common implementation of the readers other than idx). */
    record Of(int count, int channels, int height, int width, byte[] pixels, int[] labels) implements LabeledImages {
        public Of {
            if (count < 0 || channels < 1 || height < 1 || width < 1 || labels.length != count
                    || pixels.length != (long) count * channels * height * width) {
                throw new IllegalArgumentException(pixels.length + " pixels and " + labels.length + " labels for " + count + " images of "
                        + channels + "x" + height + "x" + width);
            }
        }
    }

    /**
     * The images at {@code path} as the model takes them.
     *
     * @param limit at most this many images (the first ones), or all when {@code <= 0}
     * @param transform resize / center-crop, or {@link ImageTransform#NONE}
     * @param inputShape the model's input {@code [channels, height, width]}: images are converted to it (image folders: 1 or 3
     *     channels), transformed, and checked against it; null to keep the images as stored (then every image must have the same
     *     size and, for image folders, the channel count of the first)
     * @throws IllegalArgumentException with one line naming the file and what is wrong
     */
    static LabeledImages read(Path path, Split split, int limit, ImageTransform transform, int[] inputShape) {
        if (inputShape != null && (inputShape.length != 3 || inputShape[0] < 1 || inputShape[1] < 1 || inputShape[2] < 1)) {
            throw new IllegalArgumentException("images need a model input of channels x height x width, not " + java.util.Arrays.toString(inputShape));
        }
        if (Files.isRegularFile(path)) {
            if (CifarBinary.isBin(path)) {
                return fit(CifarBinary.load(java.util.List.of(path), limit), path, transform, inputShape);
            }
            throw new IllegalArgumentException(path + ": a file that is not a CIFAR-10 .bin file (give a .bin file, an idx folder, "
                    + "a CIFAR-10 binary folder or an image folder)");
        }
        if (!Files.isDirectory(path)) {
            throw new IllegalArgumentException(path + ": no such file or folder");
        }
        boolean idx = false, bin = false, sub = false;
        try (Stream<Path> s = Files.list(path)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (n.startsWith(".")) {
                    continue;
                }
                if (Files.isDirectory(p)) {
                    sub = true;
                } else if (n.matches(".+-idx[13]-ubyte(\\.gz)?")) {
                    idx = true;
                } else if (CifarBinary.isBin(p)) {
                    bin = true;
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(path + ": cannot list the folder (" + oneLine(e) + ")", e);
        }
        if (idx) {
            return fit(IdxDataset.load(path, split == Split.TEST ? "t10k" : "train", limit), path, transform, inputShape);
        }
        if (bin) {
            return fit(CifarBinary.load(CifarBinary.files(path, split), limit), path, transform, inputShape);
        }
        if (sub) {
            return ImageFolder.load(path, limit, transform, inputShape);
        }
        throw new IllegalArgumentException(path + ": no images found: looked for an MNIST idx folder (t10k-images-idx3-ubyte[.gz], "
                + "train-images-idx3-ubyte[.gz]), CIFAR-10 binary files (test_batch.bin, data_batch_N.bin, train_*.bin) and class "
                + "subfolders of PNG/JPEG images");
    }

    /** As stored, no transform: {@code read(path, split, limit, ImageTransform.NONE, null)}. */
    static LabeledImages read(Path path, Split split, int limit) {
        return read(path, split, limit, ImageTransform.NONE, null);
    }

    /** Fixed-size stored images (idx, CIFAR) transformed and checked against the model's input. */
    private static LabeledImages fit(LabeledImages d, Path path, ImageTransform t, int[] in) {
        if (in == null) {
            if (!t.isNone()) {
                throw new IllegalArgumentException(path + ": resize and center-crop need the model's input size");
            }
            return d;
        }
        if (d.channels() != in[0]) {
            throw new IllegalArgumentException(path + ": images are " + d.channels() + "x" + d.height() + "x" + d.width() + ", the model takes "
                    + in[0] + "x" + in[1] + "x" + in[2] + " (a different channel count)");
        }
        if (d.height() == in[1] && d.width() == in[2] && t.resize() == 0) {
            return d; // center-crop to the same size changes nothing
        }
        String wrong = t.mismatch(d.height(), d.width(), in[1], in[2]);
        if (wrong != null) {
            throw new IllegalArgumentException(path + ": images are " + wrong);
        }
        int n = d.count(), c = d.channels(), src = d.imageSize(), dst = c * in[1] * in[2];
        if ((long) n * dst > MAX_PIXELS) {
            throw new IllegalArgumentException(path + ": " + n + " images of " + c + "x" + in[1] + "x" + in[2]
                    + " do not fit one array (2 GiB): use a smaller limit");
        }
        byte[] px = new byte[n * dst];
        for (int i = 0; i < n; i++) {
            t.apply(d.pixels(), i * src, c, d.height(), d.width(), in[1], in[2], px, i * dst);
        }
        return new Of(n, c, in[1], in[2], px, d.labels());
    }

    /** The first line of an exception's message (or its type). */
    static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int nl = m.indexOf('\n');
        return (nl < 0 ? m : m.substring(0, nl)).strip();
    }
}
