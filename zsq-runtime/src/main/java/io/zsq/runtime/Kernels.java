package io.zsq.runtime;

import static io.zsq.runtime.FixedPoint.clamp;
import static io.zsq.runtime.FixedPoint.multiplyByQuantizedMultiplier;

/**
 * Integer kernels, one image at a time, NCHW. Each public kernel goes to {@link VectorKernels} when
 * {@link IntSimd#ENABLED}, else to the scalar loop here ({@code scalar*}), which is also the reference
 * the vector kernels are tested against; the bits are the same either way.
 */
public final class Kernels {
    private Kernels() {}

    /** Convolution or dense layer: the Vector API kernel when enabled, else {@link #scalarConv}; the same bits either way. */
    public static byte[] conv(Layer.Conv c, byte[] x) {
        return IntSimd.ENABLED ? VectorKernels.conv(c, x) : scalarConv(c, x);
    }

    /**
     * The scalar convolution (the fallback, and the reference the vector kernel is tested against):
     * im2col of the zero-point-shifted input (padding contributes 0), then for each output channel a
     * multiply-accumulate over contiguous output positions, which the JIT vectorizes. Integer sums are
     * exact in any order, so this equals the definition bit for bit.
     */
    public static byte[] scalarConv(Layer.Conv c, byte[] x) {
        int inC = c.inShape()[0], inH = c.inShape()[1], inW = c.inShape()[2];
        int outC = c.outShape()[0], outH = c.outShape()[1], outW = c.outShape()[2];
        int cpg = inC / c.groups(), opg = outC / c.groups();
        int kh = c.kh(), kw = c.kw(), k = cpg * kh * kw, p = outH * outW;
        byte[] w = c.weights();
        int zx = c.inZeroPoint();
        byte[] y = new byte[outC * p];
        int[] cols = new int[k * p];
        int[] acc = new int[p];
        for (int g = 0; g < c.groups(); g++) {
            java.util.Arrays.fill(cols, 0);
            for (int ic = 0; ic < cpg; ic++) {
                int plane = (g * cpg + ic) * inH;
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx++) {
                        int row = ((ic * kh + ky) * kw + kx) * p;
                        for (int oy = 0; oy < outH; oy++) {
                            int iy = oy * c.strideH() - c.padTop() + ky;
                            if (iy < 0 || iy >= inH) {
                                continue;
                            }
                            int src = (plane + iy) * inW;
                            int dst = row + oy * outW;
                            for (int ox = 0; ox < outW; ox++) {
                                int ix = ox * c.strideW() - c.padLeft() + kx;
                                if (ix >= 0 && ix < inW) {
                                    cols[dst + ox] = x[src + ix] - zx;
                                }
                            }
                        }
                    }
                }
            }
            for (int oo = 0; oo < opg; oo++) {
                int o = g * opg + oo;
                java.util.Arrays.fill(acc, c.bias()[o]);
                int wBase = o * k;
                for (int kk = 0; kk < k; kk++) {
                    int wv = w[wBase + kk];
                    if (wv == 0) {
                        continue;
                    }
                    int row = kk * p;
                    for (int i = 0; i < p; i++) {
                        acc[i] += wv * cols[row + i];
                    }
                }
                int m = c.multiplier()[o], s = c.shift()[o], zo = c.outZeroPoint(), lo = c.actMin(), hi = c.actMax();
                for (int i = 0; i < p; i++) {
                    y[o * p + i] = (byte) clamp((long) zo + multiplyByQuantizedMultiplier(acc[i], m, s), lo, hi);
                }
            }
        }
        return y;
    }

    /** Residual addition of two int8 tensors with their own scales, into a third (TFLite's integer ADD). */
    public static byte[] add(Layer.Add a, byte[] xa, byte[] xb) {
        return IntSimd.ENABLED ? VectorKernels.add(a, xa, xb) : scalarAdd(a, xa, xb);
    }

    public static byte[] scalarAdd(Layer.Add a, byte[] xa, byte[] xb) {
        byte[] y = new byte[xa.length];
        int ls = 1 << a.leftShift();
        for (int i = 0; i < xa.length; i++) {
            int va = multiplyByQuantizedMultiplier((xa[i] - a.aZeroPoint()) * ls, a.aMultiplier(), a.aShift());
            int vb = multiplyByQuantizedMultiplier((xb[i] - a.bZeroPoint()) * ls, a.bMultiplier(), a.bShift());
            long v = (long) a.outZeroPoint() + multiplyByQuantizedMultiplier(va + vb, a.outMultiplier(), a.outShift());
            y[i] = (byte) clamp(v, a.actMin(), a.actMax());
        }
        return y;
    }

    public static byte[] maxPool(Layer.MaxPool p, byte[] x) {
        return IntSimd.ENABLED && VectorKernels.windowsTouchInput(p.inShape(), p.outShape(), p.kh(), p.kw(), p.strideH(), p.strideW(),
                p.padTop(), p.padLeft()) ? VectorKernels.maxPool(p, x) : scalarMaxPool(p, x);
    }

    public static byte[] scalarMaxPool(Layer.MaxPool p, byte[] x) {
        int c = p.inShape()[0], inH = p.inShape()[1], inW = p.inShape()[2];
        int outH = p.outShape()[1], outW = p.outShape()[2];
        byte[] y = new byte[c * outH * outW];
        for (int ch = 0; ch < c; ch++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    int best = Integer.MIN_VALUE;
                    for (int ky = 0; ky < p.kh(); ky++) {
                        int iy = oy * p.strideH() - p.padTop() + ky;
                        if (iy < 0 || iy >= inH) {
                            continue;
                        }
                        for (int kx = 0; kx < p.kw(); kx++) {
                            int ix = ox * p.strideW() - p.padLeft() + kx;
                            if (ix >= 0 && ix < inW) {
                                best = Math.max(best, x[(ch * inH + iy) * inW + ix]);
                            }
                        }
                    }
                    y[(ch * outH + oy) * outW + ox] = (byte) best;
                }
            }
        }
        return y;
    }

    public static byte[] avgPool(Layer.AvgPool p, byte[] x) {
        return IntSimd.ENABLED && VectorKernels.windowsTouchInput(p.inShape(), p.outShape(), p.kh(), p.kw(), p.strideH(), p.strideW(),
                p.padTop(), p.padLeft()) ? VectorKernels.avgPool(p, x) : scalarAvgPool(p, x);
    }

    public static byte[] scalarAvgPool(Layer.AvgPool p, byte[] x) {
        int c = p.inShape()[0], inH = p.inShape()[1], inW = p.inShape()[2];
        int outH = p.outShape()[1], outW = p.outShape()[2];
        byte[] y = new byte[c * outH * outW];
        for (int ch = 0; ch < c; ch++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    int sum = 0, count = 0;
                    for (int ky = 0; ky < p.kh(); ky++) {
                        int iy = oy * p.strideH() - p.padTop() + ky;
                        for (int kx = 0; kx < p.kw(); kx++) {
                            int ix = ox * p.strideW() - p.padLeft() + kx;
                            if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
                                sum += x[(ch * inH + iy) * inW + ix];
                                count++;
                            } else if (p.countIncludePad()) {
                                sum += p.zeroPoint();
                                count++;
                            }
                        }
                    }
                    y[(ch * outH + oy) * outW + ox] = (byte) roundedDivide(sum, count);
                }
            }
        }
        return y;
    }

    /** Strided crop (pure data movement, one kernel): rows of unit step are copied whole. */
    public static byte[] slice(Layer.Slice s, byte[] x) {
        int inH = s.inShape()[1], inW = s.inShape()[2];
        int outC = s.outShape()[0], outH = s.outShape()[1], outW = s.outShape()[2];
        int[] st = s.starts(), sp = s.steps();
        byte[] y = new byte[outC * outH * outW];
        int i = 0;
        for (int c = 0; c < outC; c++) {
            int plane = (st[0] + c * sp[0]) * inH;
            for (int oy = 0; oy < outH; oy++) {
                int row = (plane + st[1] + oy * sp[1]) * inW + st[2];
                if (sp[2] == 1) {
                    System.arraycopy(x, row, y, i, outW);
                    i += outW;
                } else {
                    for (int ox = 0; ox < outW; ox++) {
                        y[i++] = x[row + ox * sp[2]];
                    }
                }
            }
        }
        return y;
    }

    /** Constant padding with the zero point (pure data movement, one kernel): each input row copied into a filled output. */
    public static byte[] pad(Layer.Pad p, byte[] x) {
        int inC = p.inShape()[0], inH = p.inShape()[1], inW = p.inShape()[2];
        int outH = p.outShape()[1], outW = p.outShape()[2];
        int[] b = p.begin();
        byte[] y = new byte[p.outShape()[0] * outH * outW];
        java.util.Arrays.fill(y, (byte) p.fill());
        for (int c = 0; c < inC; c++) {
            for (int iy = 0; iy < inH; iy++) {
                System.arraycopy(x, (c * inH + iy) * inW, y, ((b[0] + c) * outH + b[1] + iy) * outW + b[2], inW);
            }
        }
        return y;
    }

    /**
     * Element-wise product with broadcasting (scalar; one rounding per element): an input of size 1
     * along an axis is read at index 0 there. Same-shape inputs take the flat loop.
     */
    public static byte[] mul(Layer.Mul m, byte[] xa, byte[] xb) {
        int[] o = m.outShape(), as = m.aShape(), bs = m.bShape();
        int za = m.aZeroPoint(), zb = m.bZeroPoint(), zo = m.outZeroPoint(), mult = m.multiplier(), sh = m.shift();
        int lo = m.actMin(), hi = m.actMax();
        byte[] y = new byte[o[0] * o[1] * o[2]];
        if (java.util.Arrays.equals(as, bs)) {
            for (int i = 0; i < y.length; i++) {
                y[i] = (byte) clamp((long) zo + multiplyByQuantizedMultiplier((xa[i] - za) * (xb[i] - zb), mult, sh), lo, hi);
            }
            return y;
        }
        int i = 0;
        for (int c = 0; c < o[0]; c++) {
            int ca = as[0] == 1 ? 0 : c, cb = bs[0] == 1 ? 0 : c;
            for (int h = 0; h < o[1]; h++) {
                int ra = (ca * as[1] + (as[1] == 1 ? 0 : h)) * as[2], rb = (cb * bs[1] + (bs[1] == 1 ? 0 : h)) * bs[2];
                int sa = as[2] == 1 ? 0 : 1, sb = bs[2] == 1 ? 0 : 1;
                for (int w = 0; w < o[2]; w++, i++) {
                    int acc = (xa[ra + w * sa] - za) * (xb[rb + w * sb] - zb);
                    y[i] = (byte) clamp((long) zo + multiplyByQuantizedMultiplier(acc, mult, sh), lo, hi);
                }
            }
        }
        return y;
    }

    /** Broadcast copy (pure data movement): rows of unit-size width are filled, full rows copied. */
    public static byte[] expand(Layer.Expand e, byte[] x) {
        int[] is = e.inShape(), o = e.outShape();
        byte[] y = new byte[o[0] * o[1] * o[2]];
        int i = 0;
        for (int c = 0; c < o[0]; c++) {
            int ci = is[0] == 1 ? 0 : c;
            for (int h = 0; h < o[1]; h++) {
                int row = (ci * is[1] + (is[1] == 1 ? 0 : h)) * is[2];
                if (is[2] == 1) {
                    java.util.Arrays.fill(y, i, i + o[2], x[row]);
                } else {
                    System.arraycopy(x, row, y, i, o[2]);
                }
                i += o[2];
            }
        }
        return y;
    }

    /** Table lookup, {@code y = table[x + 128]}. */
    public static byte[] lut(Layer.Lut t, byte[] x) {
        byte[] table = t.table();
        byte[] y = new byte[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = table[x[i] + 128];
        }
        return y;
    }

    /** Channel concatenation: NCHW, so each input is one contiguous run of the output, requantized element-wise. */
    public static byte[] concat(Layer.Concat c, byte[][] x) {
        int plane = c.outShape()[1] * c.outShape()[2];
        byte[] y = new byte[c.outShape()[0] * plane];
        int off = 0, zo = c.outZeroPoint(), lo = c.actMin(), hi = c.actMax();
        for (int k = 0; k < x.length; k++) {
            int n = c.channels()[k] * plane, z = c.zeroPoint()[k], m = c.multiplier()[k], s = c.shift()[k];
            for (int i = 0; i < n; i++) {
                y[off + i] = (byte) clamp((long) zo + multiplyByQuantizedMultiplier(x[k][i] - z, m, s), lo, hi);
            }
            off += n;
        }
        return y;
    }

    /** {@code floor(num / den + 1/2)} for {@code den > 0}: to nearest, ties toward positive infinity like every rounding here. */
    static int roundedDivide(int num, int den) {
        return Math.floorDiv(2 * num + den, 2 * den);
    }
}
