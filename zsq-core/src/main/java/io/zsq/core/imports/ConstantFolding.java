package io.zsq.core.imports;

import java.util.Arrays;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import onnx.Onnx;

/**
 * Evaluates ONNX nodes whose inputs are all constants, so that the shape arithmetic exporters write
 * (Shape, Gather, Unsqueeze, Concat, Cast, ConstantOfShape, Range, arithmetic, Slice, Reshape,
 * Transpose, ...) disappears before the importer looks at the graph, generically rather than op by op.
 * Semantics follow the ONNX operator specifications (numpy broadcasting; integer division truncates,
 * as ONNX Runtime's does; casts to integers truncate toward zero).
 */
final class ConstantFolding {
    private ConstantFolding() {}

    /** The ops this folds when every input is a constant. */
    static final java.util.Set<String> FOLDABLE = java.util.Set.of("Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast",
            "ConstantOfShape", "Range", "Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "Equal", "Less", "Greater", "LessOrEqual",
            "GreaterOrEqual", "And", "Or", "Not", "Where", "Neg", "Abs", "Sqrt", "Floor", "Ceil", "Reciprocal", "Slice", "Reshape",
            "Transpose", "Expand", "Identity", "Flatten", "Mod");

    /**
     * The outputs of {@code n} for constant inputs ({@code in[i]} null for an absent optional input), or
     * null if {@code n} is not an op this folds.
     */
    static Const[] fold(Onnx.NodeProto n, Const[] in, long opset) {
        String op = n.getOpType();
        switch (op) {
            case "Identity":
                return one(in[0]);
            case "Shape": {
                long[] d = in[0].dims();
                int r = d.length;
                int start = (int) clampAxis(attr(n, "start", 0), r), end = (int) clampAxis(attr(n, "end", r), r);
                double[] v = new double[Math.max(0, end - start)];
                for (int i = 0; i < v.length; i++) {
                    v[i] = d[start + i];
                }
                return one(Const.vector(Const.INT64, v));
            }
            case "Size":
                return one(Const.scalar(Const.INT64, in[0].size()));
            case "Cast": {
                int to = (int) attr(n, "to", Const.FLOAT);
                double[] v = in[0].v().clone();
                Const c = new Const(to, in[0].dims(), v);
                for (int i = 0; i < v.length; i++) {
                    v[i] = to == Const.BOOL ? (v[i] != 0 ? 1 : 0) : c.integral() ? (double) (long) v[i]
                            : to == Const.FLOAT ? (float) v[i] : v[i];
                }
                return one(c);
            }
            case "ConstantOfShape": {
                long[] d = in[0].longs();
                Const value = Const.scalar(Const.FLOAT, 0);
                for (Onnx.AttributeProto a : n.getAttributeList()) {
                    if (a.getName().equals("value")) {
                        value = OnnxImporter.constOf(a.getT());
                    }
                }
                double[] v = new double[Math.toIntExact(checkedCount(d))];
                Arrays.fill(v, value.v()[0]);
                return one(new Const(value.type(), d, v));
            }
            case "Range": {
                double s = in[0].v()[0], l = in[1].v()[0], delta = in[2].v()[0];
                if (delta == 0) {
                    throw new IllegalArgumentException("Range with delta 0");
                }
                int count = (int) Math.max(0, Math.ceil((l - s) / delta));
                double[] v = new double[count];
                for (int i = 0; i < count; i++) {
                    v[i] = s + i * delta;
                }
                return one(new Const(in[0].type(), new long[] {count}, v));
            }
            case "Add": return one(binary(in[0], in[1], in[0].type(), Double::sum));
            case "Sub": return one(binary(in[0], in[1], in[0].type(), (a, b) -> a - b));
            case "Mul": return one(binary(in[0], in[1], in[0].type(), (a, b) -> a * b));
            case "Div": {
                boolean ints = in[0].integral();
                return one(binary(in[0], in[1], in[0].type(), (a, b) -> ints ? (double) ((long) a / (long) b) : a / b));
            }
            case "Mod": {
                boolean fmod = attr(n, "fmod", 0) != 0;
                return one(binary(in[0], in[1], in[0].type(), (a, b) -> fmod ? a % b : a - Math.floor(a / b) * b));
            }
            case "Pow": return one(binary(in[0], in[1], in[0].type(), Math::pow));
            case "Min": return one(nary(in, Math::min));
            case "Max": return one(nary(in, Math::max));
            case "Equal": return one(binary(in[0], in[1], Const.BOOL, (a, b) -> a == b ? 1 : 0));
            case "Less": return one(binary(in[0], in[1], Const.BOOL, (a, b) -> a < b ? 1 : 0));
            case "Greater": return one(binary(in[0], in[1], Const.BOOL, (a, b) -> a > b ? 1 : 0));
            case "LessOrEqual": return one(binary(in[0], in[1], Const.BOOL, (a, b) -> a <= b ? 1 : 0));
            case "GreaterOrEqual": return one(binary(in[0], in[1], Const.BOOL, (a, b) -> a >= b ? 1 : 0));
            case "And": return one(binary(in[0], in[1], Const.BOOL, (a, b) -> a != 0 && b != 0 ? 1 : 0));
            case "Or": return one(binary(in[0], in[1], Const.BOOL, (a, b) -> a != 0 || b != 0 ? 1 : 0));
            case "Not": return one(unary(in[0], Const.BOOL, a -> a == 0 ? 1 : 0));
            case "Neg": return one(unary(in[0], in[0].type(), a -> -a));
            case "Abs": return one(unary(in[0], in[0].type(), Math::abs));
            case "Sqrt": return one(unary(in[0], in[0].type(), Math::sqrt));
            case "Floor": return one(unary(in[0], in[0].type(), Math::floor));
            case "Ceil": return one(unary(in[0], in[0].type(), Math::ceil));
            case "Reciprocal": return one(unary(in[0], in[0].type(), a -> 1 / a));
            case "Where": {
                Const ab = binary(in[1], in[2], in[1].type(), (a, b) -> 0); // the broadcast shape of the values
                long[] dims = broadcast(in[0].dims(), ab.dims());
                double[] v = new double[Math.toIntExact(Const.count(dims))];
                for (int i = 0; i < v.length; i++) {
                    v[i] = at(in[0], dims, i) != 0 ? at(in[1], dims, i) : at(in[2], dims, i);
                }
                return one(new Const(in[1].type(), dims, v));
            }
            case "Gather": return one(gather(in[0], in[1], (int) attr(n, "axis", 0)));
            case "Unsqueeze": return one(unsqueeze(in[0], opset >= 13 ? in[1].longs() : ints(n, "axes")));
            case "Squeeze": return one(squeeze(in[0], opset >= 13 ? (in.length > 1 && in[1] != null ? in[1].longs() : null)
                    : (hasAttr(n, "axes") ? ints(n, "axes") : null)));
            case "Concat": return one(concat(in, (int) attr(n, "axis", 0)));
            case "Reshape": return one(reshape(in[0], in[1].longs(), attr(n, "allowzero", 0) != 0));
            case "Flatten": {
                long[] d = in[0].dims();
                int axis = (int) clampAxis(attr(n, "axis", 1), d.length);
                long a = 1, b = 1;
                for (int i = 0; i < d.length; i++) {
                    if (i < axis) {
                        a *= d[i];
                    } else {
                        b *= d[i];
                    }
                }
                return one(new Const(in[0].type(), new long[] {a, b}, in[0].v()));
            }
            case "Transpose": return one(transpose(in[0], hasAttr(n, "perm") ? ints(n, "perm") : null));
            case "Expand": return one(expand(in[0], in[1].longs()));
            case "Slice": {
                if (opset < 10) {
                    return one(slice(in[0], ints(n, "starts"), ints(n, "ends"), hasAttr(n, "axes") ? ints(n, "axes") : null, null));
                }
                return one(slice(in[0], in[1].longs(), in[2].longs(), in.length > 3 && in[3] != null ? in[3].longs() : null,
                        in.length > 4 && in[4] != null ? in[4].longs() : null));
            }
            default:
                return null;
        }
    }

    private static Const[] one(Const c) {
        if (c.size() > Const.MAX_FOLDED) {
            throw new IllegalArgumentException("folding produces " + c.size() + " values; only shape arithmetic is folded");
        }
        return new Const[] {c};
    }

    static long clampAxis(long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        return Math.max(0, Math.min(rank, a));
    }

    private static long axis(long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException("axis " + axis + " out of range for rank " + rank);
        }
        return a;
    }

    private static long checkedCount(long[] d) {
        long n = Const.count(d);
        if (n > Const.MAX_FOLDED || n < 0) {
            throw new IllegalArgumentException("a constant of shape " + Arrays.toString(d) + " is too large to fold");
        }
        return n;
    }

    static long[] broadcast(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] d = new long[r];
        for (int i = 0; i < r; i++) {
            long x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1, y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (x != y && x != 1 && y != 1) {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            d[i] = x == 1 ? y : x;
        }
        return d;
    }

    /** The value of {@code c} at flat index {@code i} of the broadcast shape {@code dims}. */
    private static double at(Const c, long[] dims, int i) {
        long[] cd = c.dims();
        long[] cs = Const.strides(cd);
        long rest = i, off = 0;
        long[] ds = Const.strides(dims);
        for (int k = 0; k < dims.length; k++) {
            long idx = rest / ds[k];
            rest %= ds[k];
            int ck = k - (dims.length - cd.length);
            if (ck >= 0 && cd[ck] != 1) {
                off += idx * cs[ck];
            }
        }
        return c.v()[(int) off];
    }

    private static Const binary(Const a, Const b, int type, DoubleBinaryOperator f) {
        long[] dims = broadcast(a.dims(), b.dims());
        double[] v = new double[Math.toIntExact(checkedCount(dims))];
        boolean ints = new Const(type, new long[0], new double[1]).integral() && type != Const.BOOL;
        for (int i = 0; i < v.length; i++) {
            double r = f.applyAsDouble(at(a, dims, i), at(b, dims, i));
            v[i] = ints ? (double) (long) r : type == Const.FLOAT ? (float) r : r;
        }
        return new Const(type, dims, v);
    }

    private static Const nary(Const[] in, DoubleBinaryOperator f) {
        Const acc = in[0];
        for (int i = 1; i < in.length; i++) {
            acc = binary(acc, in[i], in[0].type(), f);
        }
        return acc;
    }

    private static Const unary(Const a, int type, DoubleUnaryOperator f) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = f.applyAsDouble(a.v()[i]);
            v[i] = type == Const.FLOAT ? (float) v[i] : v[i];
        }
        return new Const(type, a.dims(), v);
    }

    private static Const gather(Const data, Const indices, int axisAttr) {
        long[] d = data.dims();
        int axis = (int) axis(axisAttr, d.length);
        long[] id = indices.dims();
        long[] out = new long[d.length - 1 + id.length];
        int k = 0;
        for (int i = 0; i < axis; i++) {
            out[k++] = d[i];
        }
        for (long x : id) {
            out[k++] = x;
        }
        for (int i = axis + 1; i < d.length; i++) {
            out[k++] = d[i];
        }
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) {
            outer *= d[i];
        }
        for (int i = axis + 1; i < d.length; i++) {
            inner *= d[i];
        }
        int m = indices.size();
        double[] v = new double[Math.toIntExact(checkedCount(out))];
        for (long o = 0; o < outer; o++) {
            for (int j = 0; j < m; j++) {
                long ix = indices.asLong(j);
                ix = ix < 0 ? ix + d[axis] : ix;
                if (ix < 0 || ix >= d[axis]) {
                    throw new IllegalArgumentException("Gather index " + indices.asLong(j) + " out of range " + d[axis]);
                }
                System.arraycopy(data.v(), (int) ((o * d[axis] + ix) * inner), v, (int) ((o * m + j) * inner), (int) inner);
            }
        }
        return new Const(data.type(), out, v);
    }

    private static Const unsqueeze(Const c, long[] axes) {
        int r = c.rank() + axes.length;
        boolean[] added = new boolean[r];
        for (long a : axes) {
            added[(int) axis(a, r)] = true;
        }
        long[] d = new long[r];
        int k = 0;
        for (int i = 0; i < r; i++) {
            d[i] = added[i] ? 1 : c.dims()[k++];
        }
        return new Const(c.type(), d, c.v());
    }

    private static Const squeeze(Const c, long[] axes) {
        long[] cd = c.dims();
        boolean[] drop = new boolean[cd.length];
        if (axes == null) {
            for (int i = 0; i < cd.length; i++) {
                drop[i] = cd[i] == 1;
            }
        } else {
            for (long a : axes) {
                int i = (int) axis(a, cd.length);
                if (cd[i] != 1) {
                    throw new IllegalArgumentException("Squeeze of axis " + a + " of size " + cd[i]);
                }
                drop[i] = true;
            }
        }
        return new Const(c.type(), java.util.stream.IntStream.range(0, cd.length).filter(i -> !drop[i]).mapToLong(i -> cd[i]).toArray(), c.v());
    }

    private static Const concat(Const[] in, int axisAttr) {
        long[] d0 = in[0].dims();
        int axis = (int) axis(axisAttr, d0.length);
        long[] out = d0.clone();
        out[axis] = 0;
        for (Const c : in) {
            out[axis] += c.dims()[axis];
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= d0[i];
        }
        double[] v = new double[Math.toIntExact(checkedCount(out))];
        int at = 0;
        for (long o = 0; o < outer; o++) {
            for (Const c : in) {
                int chunk = (int) (c.size() / Math.max(1, outer));
                System.arraycopy(c.v(), (int) (o * chunk), v, at, chunk);
                at += chunk;
            }
        }
        return new Const(in[0].type(), out, v);
    }

    private static Const reshape(Const c, long[] shape, boolean allowZero) {
        long[] d = shape.clone();
        int minus = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == 0 && !allowZero) {
                d[i] = c.dims()[i];
            }
            if (d[i] == -1) {
                minus = i;
            } else {
                known *= d[i];
            }
        }
        if (minus >= 0) {
            if (known == 0 || c.size() % known != 0) {
                throw new IllegalArgumentException("Reshape of " + c.size() + " values to " + Arrays.toString(shape));
            }
            d[minus] = c.size() / known;
        }
        return new Const(c.type(), d, c.v());
    }

    private static Const transpose(Const c, long[] perm) {
        long[] cd = c.dims();
        int r = cd.length;
        long[] p = perm != null ? perm : java.util.stream.LongStream.range(0, r).map(i -> r - 1 - i).toArray();
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            out[i] = cd[(int) p[i]];
        }
        long[] cs = Const.strides(cd), os = Const.strides(out);
        double[] v = new double[c.size()];
        for (int i = 0; i < v.length; i++) {
            long rest = i, src = 0;
            for (int k = 0; k < r; k++) {
                long idx = rest / os[k];
                rest %= os[k];
                src += idx * cs[(int) p[k]];
            }
            v[i] = c.v()[(int) src];
        }
        return new Const(c.type(), out, v);
    }

    private static Const expand(Const c, long[] shape) {
        long[] dims = broadcast(c.dims(), shape);
        double[] v = new double[Math.toIntExact(checkedCount(dims))];
        for (int i = 0; i < v.length; i++) {
            v[i] = at(c, dims, i);
        }
        return new Const(c.type(), dims, v);
    }

    /** ONNX Slice on a constant: per axis start/end (negative from the end, clamped) and step (non-zero). */
    static Const slice(Const c, long[] starts, long[] ends, long[] axes, long[] steps) {
        long[] cd = c.dims();
        int r = cd.length;
        long[] b = new long[r], e = cd.clone(), s = new long[r];
        Arrays.fill(s, 1);
        for (int i = 0; i < starts.length; i++) {
            int a = (int) axis(axes == null ? i : axes[i], r);
            long st = steps == null ? 1 : steps[i];
            if (st == 0) {
                throw new IllegalArgumentException("Slice step 0");
            }
            long[] be = bounds(starts[i], ends[i], st, cd[a]);
            b[a] = be[0];
            e[a] = be[1];
            s[a] = st;
        }
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            out[i] = s[i] > 0 ? Math.max(0, (e[i] - b[i] + s[i] - 1) / s[i]) : Math.max(0, (b[i] - e[i] - s[i] - 1) / -s[i]);
        }
        long[] cs = Const.strides(cd), os = Const.strides(out);
        double[] v = new double[Math.toIntExact(checkedCount(out))];
        for (int i = 0; i < v.length; i++) {
            long rest = i, src = 0;
            for (int k = 0; k < r; k++) {
                long idx = rest / os[k];
                rest %= os[k];
                src += (b[k] + idx * s[k]) * cs[k];
            }
            v[i] = c.v()[(int) src];
        }
        return new Const(c.type(), out, v);
    }

    /** ONNX Slice's effective [start, end) on an axis of size {@code dim} for step {@code step}. */
    static long[] bounds(long start, long end, long step, long dim) {
        long st = start < 0 ? start + dim : start, en = end < 0 ? end + dim : end;
        if (step > 0) {
            st = Math.max(0, Math.min(dim, st));
            en = Math.max(0, Math.min(dim, en));
        } else {
            st = Math.max(-1, Math.min(dim - 1, st));
            en = Math.max(-1, Math.min(dim - 1, en));
        }
        return new long[] {st, en};
    }

    static long attr(Onnx.NodeProto n, String name, long dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return dflt;
    }

    static boolean hasAttr(Onnx.NodeProto n, String name) {
        return n.getAttributeList().stream().anyMatch(a -> a.getName().equals(name));
    }

    static long[] ints(Onnx.NodeProto n, String name) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                long[] v = new long[a.getIntsCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = a.getInts(i);
                }
                return v;
            }
        }
        throw new IllegalArgumentException("attribute " + name + " is required");
    }
}
