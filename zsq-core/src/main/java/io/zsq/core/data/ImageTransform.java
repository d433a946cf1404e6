package io.zsq.core.data;

import java.io.Serializable;

/**
 * The usual evaluation transforms, applied to unsigned-byte images before preprocessing: resize the
 * shorter side to {@code resize} pixels (0: no resize), then, with {@code centerCrop}, cut the model's
 * input size out of the middle. Without a crop the (resized) image must be the model's size.
 *
 * <p>Resizing is bilinear with half-pixel centers and no antialiasing: source coordinate
 * {@code (d + 0.5) * in / out - 0.5}, clamped to the image, values rounded to the nearest integer (halves
 * up). That is PyTorch's {@code interpolate(mode="bilinear", align_corners=False)} and OpenCV's
 * {@code INTER_LINEAR}; it differs from PIL's antialiased resize (torchvision's default on PIL images)
 * when shrinking by more than 2x. The longer side becomes {@code floor(resize * long / short)} and the
 * crop offsets {@code round((size - crop) / 2)} with halves to even, both as in torchvision's
 * {@code Resize(int)} and {@code CenterCrop}.
 */
public record ImageTransform(int resize, boolean centerCrop) implements Serializable {
    /** Images as stored. */
    public static final ImageTransform NONE = new ImageTransform(0, false);

    /** Largest resize side accepted. */
    public static final int MAX_SIDE = 1 << 14;
    /** Largest resized image (values) computed. */
    static final long MAX_RESIZED = 1L << 28;

    public ImageTransform {
        if (resize < 0 || resize > MAX_SIDE) {
            throw new IllegalArgumentException("the resize size must be 1.." + MAX_SIDE + " pixels (the shorter side), not " + resize);
        }
    }

    public boolean isNone() {
        return resize == 0 && !centerCrop;
    }

    /** {@code [height, width]} of an {@code h x w} image after the resize step. */
    public int[] resized(int h, int w) {
        if (resize == 0) {
            return new int[] {h, w};
        }
        return h <= w ? new int[] {resize, (int) ((long) resize * w / h)} : new int[] {(int) ((long) resize * h / w), resize};
    }

    /**
     * Why an {@code h x w} image cannot become the model's {@code th x tw} (to follow "file: the image is"), or null when it can.
     */
    public String mismatch(int h, int w, int th, int tw) {
        int[] r = resized(h, w);
        String was = h + "x" + w + " pixels (height x width)" + (resize == 0 ? "" : ", " + r[0] + "x" + r[1]
                + " after resizing the shorter side to " + resize);
        if (centerCrop) {
            return r[0] >= th && r[1] >= tw ? null : was + ", smaller than the model's " + th + "x" + tw + " center crop";
        }
        if (r[0] == th && r[1] == tw) {
            return null;
        }
        return was + ", the model takes " + th + "x" + tw + (resize == 0
                ? " (without the resize and center-crop options images must be the model's size)" : " (add the center-crop option)");
    }

    /**
     * One {@code c x h x w} image at {@code src[off]} to {@code c x th x tw} at {@code dst[dstOff]}; call
     * {@link #mismatch} first (a size it refuses throws here).
     */
    public void apply(byte[] src, int off, int c, int h, int w, int th, int tw, byte[] dst, int dstOff) {
        String wrong = mismatch(h, w, th, tw);
        if (wrong != null) {
            throw new IllegalArgumentException("the image is " + wrong);
        }
        int[] r = resized(h, w);
        int rh = r[0], rw = r[1];
        int top = centerCrop ? (int) Math.rint((rh - th) / 2.0) : 0, left = centerCrop ? (int) Math.rint((rw - tw) / 2.0) : 0;
        if (rh == h && rw == w) {
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < th; y++) {
                    System.arraycopy(src, off + (ch * h + top + y) * w + left, dst, dstOff + (ch * th + y) * tw, tw);
                }
            }
            return;
        }
        if ((long) c * rh * rw > MAX_RESIZED) {
            throw new IllegalArgumentException("resizing " + h + "x" + w + " pixels to " + rh + "x" + rw + " is too large");
        }
        // only the cropped window of the resized image is computed
        int[] y0 = new int[th], y1 = new int[th], x0 = new int[tw], x1 = new int[tw];
        double[] ly = new double[th], lx = new double[tw];
        taps(h, rh, top, y0, y1, ly);
        taps(w, rw, left, x0, x1, lx);
        for (int ch = 0; ch < c; ch++) {
            int plane = off + ch * h * w;
            for (int y = 0; y < th; y++) {
                int a = plane + y0[y] * w, b = plane + y1[y] * w;
                for (int x = 0; x < tw; x++) {
                    double top0 = (src[a + x0[x]] & 0xFF) * (1 - lx[x]) + (src[a + x1[x]] & 0xFF) * lx[x];
                    double bot0 = (src[b + x0[x]] & 0xFF) * (1 - lx[x]) + (src[b + x1[x]] & 0xFF) * lx[x];
                    double v = top0 * (1 - ly[y]) + bot0 * ly[y];
                    dst[dstOff + (ch * th + y) * tw + x] = (byte) Math.max(0, Math.min(255, (int) Math.floor(v + 0.5)));
                }
            }
        }
    }

    /** Source taps and weights of output positions {@code [from, from + i0.length)} of a resize from {@code in} to {@code out}. */
    private static void taps(int in, int out, int from, int[] i0, int[] i1, double[] l) {
        double scale = (double) in / out;
        for (int d = 0; d < i0.length; d++) {
            double s = Math.max(0, (from + d + 0.5) * scale - 0.5);
            int a = Math.min((int) s, in - 1);
            i0[d] = a;
            i1[d] = Math.min(a + 1, in - 1);
            l[d] = a == in - 1 ? 0 : s - a;
        }
    }
}
