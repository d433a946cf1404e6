package io.zsq.runtime;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One step of an integer model. Tensors are named; shapes are per image, {@code [C, H, W]}, NCHW
 * order in memory. Every int8 tensor carries its zero point; activation functions are folded into the
 * clamp range {@code [actMin, actMax]} of the producing layer's output.
 */
public sealed interface Layer {

    /** Names of the tensors this layer reads. */
    String[] inputs();

    /** Name of the tensor this layer writes. */
    String output();

    /** Shape {@code [C, H, W]} of the output. */
    int[] outShape();

    /**
     * Convolution (regular, grouped, depthwise) or dense (a 1x1 convolution over the flattened input):
     * {@code acc = bias[o] + sum (x - inZp) * w}, {@code y = clamp(outZp + MBQM(acc, multiplier[o], shift[o]), actMin, actMax)}.
     * Weights are symmetric (zero point 0), layout {@code [outC][inC/groups][kh][kw]}.
     */
    record Conv(String input, String output, int[] inShape, int[] outShape, int kh, int kw, int strideH, int strideW,
                int padTop, int padLeft, int groups, byte[] weights, int weightBits, int[] bias, int[] multiplier,
                int[] shift, int inZeroPoint, int outZeroPoint, int actMin, int actMax) implements Layer {
        public Conv {
            int outC = outShape[0];
            int inC = inShape[0];
            if (groups <= 0 || inC % groups != 0 || outC % groups != 0) {
                throw new IllegalArgumentException("conv " + output + ": channels " + inC + "->" + outC + " not divisible by groups " + groups);
            }
            if (weights.length != outC * (inC / groups) * kh * kw) {
                throw new IllegalArgumentException("conv " + output + ": weight count " + weights.length + " does not match shape");
            }
            if (bias.length != outC || multiplier.length != outC || shift.length != outC) {
                throw new IllegalArgumentException("conv " + output + ": per-channel arrays must have " + outC + " entries");
            }
            if (weightBits < 2 || weightBits > 8) {
                throw new IllegalArgumentException("conv " + output + ": weight bits must be 2..8, got " + weightBits);
            }
            int wMin = -(1 << (weightBits - 1)), wMax = (1 << (weightBits - 1)) - 1;
            for (int i = 0; i < weights.length; i++) {
                if (weights[i] < wMin || weights[i] > wMax) {
                    throw new IllegalArgumentException("conv " + output + ": weight " + i + " = " + weights[i] + " is outside the "
                            + weightBits + "-bit range [" + wMin + ", " + wMax + "]");
                }
            }
            for (int i = 0; i < outC; i++) {
                if (shift[i] < -31 || shift[i] > 30) {
                    throw new IllegalArgumentException("conv " + output + ": shift out of [-31, 30] at channel " + i + ": " + shift[i]);
                }
            }
        }

        @Override
        public String[] inputs() {
            return new String[] {input};
        }
    }

    /**
     * Residual add of two int8 tensors of different scales, TFLite's scheme: each input, less its zero
     * point, is shifted left by {@code leftShift} and rescaled to a common scale; the sum is rescaled to
     * the output scale. A negative {@code bMultiplier} makes it a subtraction {@code a - b}.
     */
    record Add(String a, String b, String output, int[] outShape, int aZeroPoint, int aMultiplier, int aShift,
               int bZeroPoint, int bMultiplier, int bShift, int leftShift, int outZeroPoint, int outMultiplier,
               int outShift, int actMin, int actMax) implements Layer {
        @Override
        public String[] inputs() {
            return new String[] {a, b};
        }
    }

    /** Max pooling; padded positions never win. Same scale and zero point in and out. */
    record MaxPool(String input, String output, int[] inShape, int[] outShape, int kh, int kw, int strideH,
                   int strideW, int padTop, int padLeft) implements Layer {
        @Override
        public String[] inputs() {
            return new String[] {input};
        }
    }

    /**
     * Average pooling (a global average pool is one with the whole plane as its window); the mean is
     * rounded to nearest, ties up ({@code floor(mean + 1/2)}). Padded positions count as real zeros ({@code zeroPoint}) when
     * {@code countIncludePad}. Same scale and zero point in and out.
     */
    record AvgPool(String input, String output, int[] inShape, int[] outShape, int kh, int kw, int strideH,
                   int strideW, int padTop, int padLeft, boolean countIncludePad, int zeroPoint) implements Layer {
        @Override
        public String[] inputs() {
            return new String[] {input};
        }
    }

    /** A change of shape only (flatten): the bytes are the same in NCHW order. */
    record Reshape(String input, String output, int[] outShape) implements Layer {
        @Override
        public String[] inputs() {
            return new String[] {input};
        }
    }

    /**
     * A strided crop: output element {@code (c, y, x)} is input element {@code (starts[0] + c * steps[0],
     * starts[1] + y * steps[1], starts[2] + x * steps[2])}; every position read lies inside the input.
     * Same scale and zero point in and out.
     */
    record Slice(String input, String output, int[] inShape, int[] outShape, int[] starts, int[] steps) implements Layer {
        public Slice {
            inShape = inShape.clone();
            outShape = outShape.clone();
            starts = starts.clone();
            steps = steps.clone();
            if (inShape.length != 3 || outShape.length != 3 || starts.length != 3 || steps.length != 3) {
                throw new IllegalArgumentException("slice " + output + ": shapes, starts and steps need 3 entries (C, H, W)");
            }
            for (int a = 0; a < 3; a++) {
                long last = starts[a] + (long) (outShape[a] - 1) * steps[a];
                if (steps[a] < 1 || outShape[a] < 1 || starts[a] < 0 || last >= inShape[a]) {
                    throw new IllegalArgumentException("slice " + output + ": axis " + a + " reads " + outShape[a] + " entries from "
                            + starts[a] + " in steps of " + steps[a] + ", outside an input of " + inShape[a]);
                }
            }
        }

        @Override
        public String[] inputs() {
            return new String[] {input};
        }
    }

    /**
     * Constant padding: {@code begin[a]} entries of {@code fill} before axis a of the input and
     * {@code outShape[a] - inShape[a] - begin[a]} after it. {@code fill} is the tensor's zero point
     * (real 0). Same scale and zero point in and out.
     */
    record Pad(String input, String output, int[] inShape, int[] outShape, int[] begin, int fill) implements Layer {
        public Pad {
            inShape = inShape.clone();
            outShape = outShape.clone();
            begin = begin.clone();
            if (inShape.length != 3 || outShape.length != 3 || begin.length != 3) {
                throw new IllegalArgumentException("pad " + output + ": shapes and begin need 3 entries (C, H, W)");
            }
            for (int a = 0; a < 3; a++) {
                if (begin[a] < 0 || inShape[a] < 1 || (long) begin[a] + inShape[a] > outShape[a]) {
                    throw new IllegalArgumentException("pad " + output + ": axis " + a + " puts " + inShape[a] + " entries at "
                            + begin[a] + " in an output of " + outShape[a]);
                }
            }
            if (fill < -128 || fill > 127) {
                throw new IllegalArgumentException("pad " + output + ": fill " + fill + " is not an int8 value");
            }
        }

        @Override
        public String[] inputs() {
            return new String[] {input};
        }
    }

    /**
     * Element-wise product with broadcasting: shapes {@code aShape}, {@code bShape} ({@code [C, H, W]},
     * each dimension equal to the output's or 1, read at index 0 along it),
     * {@code y = clamp(outZp + MBQM((a - aZp) * (b - bZp), multiplier, shift), actMin, actMax)}; the
     * real multiplier is {@code S_a * S_b / S_y}.
     */
    record Mul(String a, String b, String output, int[] aShape, int[] bShape, int[] outShape, int aZeroPoint, int bZeroPoint,
               int outZeroPoint, int multiplier, int shift, int actMin, int actMax) implements Layer {
        public Mul {
            aShape = aShape.clone();
            bShape = bShape.clone();
            outShape = outShape.clone();
            if (aShape.length != 3 || bShape.length != 3 || outShape.length != 3) {
                throw new IllegalArgumentException("mul " + output + ": shapes need 3 entries (C, H, W)");
            }
            for (int d = 0; d < 3; d++) {
                if (outShape[d] < 1 || (aShape[d] != outShape[d] && aShape[d] != 1) || (bShape[d] != outShape[d] && bShape[d] != 1)) {
                    throw new IllegalArgumentException("mul " + output + ": inputs " + java.util.Arrays.toString(aShape) + " and "
                            + java.util.Arrays.toString(bShape) + " do not broadcast to " + java.util.Arrays.toString(outShape));
                }
            }
            checkInt8(aZeroPoint, "mul " + output + ": input zero point");
            checkInt8(bZeroPoint, "mul " + output + ": input zero point");
            checkInt8(outZeroPoint, "mul " + output + ": output zero point");
            checkShift(shift, "mul " + output);
        }

        @Override
        public String[] inputs() {
            return new String[] {a, b};
        }
    }

    /**
     * An element-wise function as a table: {@code y = table[x + 128]} (256 entries, one per int8 input
     * value), computed when the model was lowered. Shape kept. {@code function} names it as an ONNX
     * operator ({@code Sigmoid}, {@code HardSigmoid}, {@code HardSwish}) and {@code functionParams}
     * holds its attributes as IEEE-754 single-precision bit patterns (HardSigmoid: alpha, beta), for
     * the exporters only: the runtime reads the table.
     */
    record Lut(String input, String output, int[] outShape, String function, int[] functionParams, byte[] table) implements Layer {
        public Lut {
            outShape = outShape.clone();
            functionParams = functionParams.clone();
            table = table.clone();
            if (table.length != 256) {
                throw new IllegalArgumentException("lookup table " + output + ": " + table.length + " entries, not 256");
            }
        }

        @Override
        public String[] inputs() {
            return new String[] {input};
        }
    }

    /**
     * Concatenation along channels: input i ({@code [channels[i], H, W]}) requantized to the output,
     * {@code y = clamp(outZp + MBQM(x - zeroPoint[i], multiplier[i], shift[i]), actMin, actMax)} (the
     * multiplier {@code S_i / S_y}; exactly the identity, {@code 2^30 * 2^1}, where the parameters are the output's).
     */
    record Concat(String[] inputs, String output, int[] outShape, int[] channels, int[] zeroPoint, int[] multiplier, int[] shift,
                  int outZeroPoint, int actMin, int actMax) implements Layer {
        public Concat {
            inputs = inputs.clone();
            outShape = outShape.clone();
            channels = channels.clone();
            zeroPoint = zeroPoint.clone();
            multiplier = multiplier.clone();
            shift = shift.clone();
            int k = inputs.length;
            if (k < 2 || channels.length != k || zeroPoint.length != k || multiplier.length != k || shift.length != k) {
                throw new IllegalArgumentException("concat " + output + ": needs two or more inputs, each with channels, zero point, "
                        + "multiplier and shift");
            }
            long c = 0;
            for (int i = 0; i < k; i++) {
                if (channels[i] < 1) {
                    throw new IllegalArgumentException("concat " + output + ": input " + i + " has " + channels[i] + " channels");
                }
                c += channels[i];
                checkInt8(zeroPoint[i], "concat " + output + ": zero point");
                checkShift(shift[i], "concat " + output);
            }
            if (outShape.length != 3 || c != outShape[0]) {
                throw new IllegalArgumentException("concat " + output + ": input channels sum to " + c + ", output is "
                        + java.util.Arrays.toString(outShape));
            }
            checkInt8(outZeroPoint, "concat " + output + ": output zero point");
        }
    }

    /**
     * Broadcast copy: output element {@code (c, y, x)} is input element {@code (c, y, x)} with 0 on
     * every axis where the input has size 1 (numpy broadcasting; the input of a broadcasting add).
     * Same scale and zero point in and out.
     */
    record Expand(String input, String output, int[] inShape, int[] outShape) implements Layer {
        public Expand {
            inShape = inShape.clone();
            outShape = outShape.clone();
            if (inShape.length != 3 || outShape.length != 3) {
                throw new IllegalArgumentException("expand " + output + ": shapes need 3 entries (C, H, W)");
            }
            for (int a = 0; a < 3; a++) {
                if (outShape[a] < 1 || (inShape[a] != outShape[a] && inShape[a] != 1)) {
                    throw new IllegalArgumentException("expand " + output + ": " + java.util.Arrays.toString(inShape)
                            + " does not broadcast to " + java.util.Arrays.toString(outShape));
                }
            }
        }

        @Override
        public String[] inputs() {
            return new String[] {input};
        }
    }

    private static void checkInt8(int v, String what) {
        if (v < -128 || v > 127) {
            throw new IllegalArgumentException(what + " " + v + " is not an int8 value");
        }
    }

    private static void checkShift(int s, String what) {
        if (s < -31 || s > 30) {
            throw new IllegalArgumentException(what + ": shift " + s + " out of [-31, 30]");
        }
    }

    /** Number of elements of a per-image shape. */
    static int size(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    /** Tag of each layer type in the file format; never renumber. */
    static byte tag(Layer l) {
        if (l instanceof Conv) {
            return 1;
        } else if (l instanceof Add) {
            return 2;
        } else if (l instanceof MaxPool) {
            return 3;
        } else if (l instanceof AvgPool) {
            return 4;
        } else if (l instanceof Reshape) {
            return 5;
        } else if (l instanceof Slice) {
            return 6;
        } else if (l instanceof Pad) {
            return 7;
        } else if (l instanceof Mul) {
            return 8;
        } else if (l instanceof Lut) {
            return 9;
        } else if (l instanceof Concat) {
            return 10;
        }
        return 11; // Expand
    }

    static void write(Layer l, DataOutputStream out) throws IOException {
        out.writeByte(tag(l));
        if (l instanceof Conv c) {
                out.writeUTF(c.input()); out.writeUTF(c.output());
                ints(out, c.inShape()); ints(out, c.outShape());
                ints(out, new int[] {c.kh(), c.kw(), c.strideH(), c.strideW(), c.padTop(), c.padLeft(), c.groups(),
                        c.weightBits(), c.inZeroPoint(), c.outZeroPoint(), c.actMin(), c.actMax()});
                out.writeInt(c.weights().length);
                out.write(c.weightBits() <= 4 ? pack4(c.weights()) : c.weights());
                ints(out, c.bias()); ints(out, c.multiplier()); ints(out, c.shift());
        } else if (l instanceof Add a) {
                out.writeUTF(a.a()); out.writeUTF(a.b()); out.writeUTF(a.output());
                ints(out, a.outShape());
                ints(out, new int[] {a.aZeroPoint(), a.aMultiplier(), a.aShift(), a.bZeroPoint(), a.bMultiplier(), a.bShift(),
                        a.leftShift(), a.outZeroPoint(), a.outMultiplier(), a.outShift(), a.actMin(), a.actMax()});
        } else if (l instanceof MaxPool m) {
                out.writeUTF(m.input()); out.writeUTF(m.output());
                ints(out, m.inShape()); ints(out, m.outShape());
                ints(out, new int[] {m.kh(), m.kw(), m.strideH(), m.strideW(), m.padTop(), m.padLeft()});
        } else if (l instanceof AvgPool p) {
                out.writeUTF(p.input()); out.writeUTF(p.output());
                ints(out, p.inShape()); ints(out, p.outShape());
                ints(out, new int[] {p.kh(), p.kw(), p.strideH(), p.strideW(), p.padTop(), p.padLeft(),
                        p.countIncludePad() ? 1 : 0, p.zeroPoint()});
        } else if (l instanceof Reshape r) {
                out.writeUTF(r.input()); out.writeUTF(r.output());
                ints(out, r.outShape());
        } else if (l instanceof Slice s) {
                out.writeUTF(s.input()); out.writeUTF(s.output());
                ints(out, s.inShape()); ints(out, s.outShape());
                ints(out, new int[] {s.starts()[0], s.starts()[1], s.starts()[2], s.steps()[0], s.steps()[1], s.steps()[2]});
        } else if (l instanceof Pad p) {
                out.writeUTF(p.input()); out.writeUTF(p.output());
                ints(out, p.inShape()); ints(out, p.outShape());
                ints(out, new int[] {p.begin()[0], p.begin()[1], p.begin()[2], p.fill()});
        } else if (l instanceof Mul m) {
                out.writeUTF(m.a()); out.writeUTF(m.b()); out.writeUTF(m.output());
                ints(out, m.aShape()); ints(out, m.bShape()); ints(out, m.outShape());
                ints(out, new int[] {m.aZeroPoint(), m.bZeroPoint(), m.outZeroPoint(), m.multiplier(), m.shift(), m.actMin(), m.actMax()});
        } else if (l instanceof Lut t) {
                out.writeUTF(t.input()); out.writeUTF(t.output()); out.writeUTF(t.function());
                ints(out, t.outShape()); ints(out, t.functionParams());
                out.write(t.table());
        } else if (l instanceof Concat c) {
                out.writeInt(c.inputs().length);
                for (String i : c.inputs()) {
                    out.writeUTF(i);
                }
                out.writeUTF(c.output());
                ints(out, c.outShape()); ints(out, c.channels()); ints(out, c.zeroPoint()); ints(out, c.multiplier()); ints(out, c.shift());
                ints(out, new int[] {c.outZeroPoint(), c.actMin(), c.actMax()});
        } else if (l instanceof Expand e) {
                out.writeUTF(e.input()); out.writeUTF(e.output());
                ints(out, e.inShape()); ints(out, e.outShape());
        }
    }

    static Layer read(DataInputStream in) throws IOException {
        int tag = in.readByte();
        switch (tag) {
            case 1 -> {
                String i = in.readUTF(), o = in.readUTF();
                int[] is = shape(in, 3), os = shape(in, 3), p = params(in, 12);
                int n = checkedLength(in.readInt());
                byte[] w;
                if (p[7] <= 4) {
                    byte[] packed = bytes(in, (n + 1) / 2);
                    w = new byte[n];
                    unpack4(packed, w);
                } else {
                    w = bytes(in, n);
                }
                return new Conv(i, o, is, os, p[0], p[1], p[2], p[3], p[4], p[5], p[6], w, p[7], ints(in), ints(in), ints(in),
                        p[8], p[9], p[10], p[11]);
            }
            case 2 -> {
                String a = in.readUTF(), b = in.readUTF(), o = in.readUTF();
                int[] os = ints(in), p = params(in, 12);
                return new Add(a, b, o, os, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]);
            }
            case 3 -> {
                String i = in.readUTF(), o = in.readUTF();
                int[] is = shape(in, 3), os = shape(in, 3), p = params(in, 6);
                return new MaxPool(i, o, is, os, p[0], p[1], p[2], p[3], p[4], p[5]);
            }
            case 4 -> {
                String i = in.readUTF(), o = in.readUTF();
                int[] is = shape(in, 3), os = shape(in, 3), p = params(in, 8);
                return new AvgPool(i, o, is, os, p[0], p[1], p[2], p[3], p[4], p[5], p[6] != 0, p[7]);
            }
            case 5 -> {
                String i = in.readUTF(), o = in.readUTF();
                return new Reshape(i, o, ints(in));
            }
            case 6 -> {
                String i = in.readUTF(), o = in.readUTF();
                int[] is = shape(in, 3), os = shape(in, 3), p = params(in, 6);
                return new Slice(i, o, is, os, new int[] {p[0], p[1], p[2]}, new int[] {p[3], p[4], p[5]});
            }
            case 7 -> {
                String i = in.readUTF(), o = in.readUTF();
                int[] is = shape(in, 3), os = shape(in, 3), p = params(in, 4);
                return new Pad(i, o, is, os, new int[] {p[0], p[1], p[2]}, p[3]);
            }
            case 8 -> {
                String a = in.readUTF(), b = in.readUTF(), o = in.readUTF();
                int[] as = shape(in, 3), bs = shape(in, 3), os = shape(in, 3), p = params(in, 7);
                return new Mul(a, b, o, as, bs, os, p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
            }
            case 9 -> {
                String i = in.readUTF(), o = in.readUTF(), f = in.readUTF();
                int[] os = ints(in), fp = ints(in);
                return new Lut(i, o, os, f, fp, bytes(in, 256));
            }
            case 10 -> {
                int k = in.readInt();
                if (k < 2 || k > 1 << 16) {
                    throw new IOException("corrupt layer: a concatenation of " + k + " inputs");
                }
                String[] ins = new String[k];
                for (int j = 0; j < k; j++) {
                    ins[j] = in.readUTF();
                }
                String o = in.readUTF();
                int[] os = shape(in, 3), ch = params(in, k), zp = params(in, k), m = params(in, k), sh = params(in, k), p = params(in, 3);
                return new Concat(ins, o, os, ch, zp, m, sh, p[0], p[1], p[2]);
            }
            case 11 -> {
                String i = in.readUTF(), o = in.readUTF();
                return new Expand(i, o, shape(in, 3), shape(in, 3));
            }
            default -> throw new IOException("unknown layer tag " + tag);
        }
    }

    /** Two 4-bit two's-complement values per byte, the first in the low nibble; an odd count leaves the last high nibble 0. */
    static byte[] pack4(byte[] w) {
        byte[] p = new byte[(w.length + 1) / 2];
        for (int i = 0; i < w.length; i++) {
            p[i / 2] |= (byte) ((w[i] & 0xF) << (4 * (i % 2)));
        }
        return p;
    }

    static void unpack4(byte[] packed, byte[] w) {
        for (int i = 0; i < w.length; i++) {
            int nibble = (packed[i / 2] >> (4 * (i % 2))) & 0xF;
            w[i] = (byte) ((nibble << 28) >> 28); // sign-extend
        }
    }

    private static void ints(DataOutputStream out, int[] v) throws IOException {
        out.writeInt(v.length);
        for (int x : v) {
            out.writeInt(x);
        }
    }

    /**
     * An int array; its length is checked, and the memory for it grows with the bytes actually read,
     * so a corrupt length in a short file ends in {@link EOFException}, not in a huge allocation.
     */
    private static int[] ints(DataInputStream in) throws IOException {
        int n = checkedLength(in.readInt());
        int[] v = new int[n];
        ByteBuffer.wrap(bytes(in, 4 * n)).asIntBuffer().get(v); // big-endian, as DataInputStream
        return v;
    }

    /** A layer's fixed parameter list, which must have {@code count} entries. */
    private static int[] params(DataInputStream in, int count) throws IOException {
        int[] p = ints(in);
        if (p.length != count) {
            throw new IOException("corrupt layer: " + p.length + " parameters where " + count + " are stored");
        }
        return p;
    }

    /** A per-image shape, which must have {@code rank} dimensions. */
    private static int[] shape(DataInputStream in, int rank) throws IOException {
        int[] s = ints(in);
        if (s.length != rank) {
            throw new IOException("corrupt layer: shape of rank " + s.length + " where " + rank + " is stored");
        }
        return s;
    }

    /** Exactly {@code n} bytes, read in chunks (no allocation of {@code n} up front). */
    private static byte[] bytes(DataInputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new EOFException("file ends after " + b.length + " of " + n + " bytes");
        }
        return b;
    }

    private static int checkedLength(int n) throws IOException {
        if (n < 0 || n > (1 << 28)) {
            throw new IOException("corrupt length " + n);
        }
        return n;
    }
}
