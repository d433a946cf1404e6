package io.zsq.core.imports;

import io.zsq.core.ir.Tensor;
import java.util.Arrays;
import onnx.Onnx;

/**
 * A constant value during ONNX import, exact enough for the shape arithmetic exporters write: an ONNX
 * data type, dims (rank 0 for a scalar), and the values as doubles (int64 values beyond 2^53, such as
 * Slice's "to the end" INT64_MAX, stay as large as they were, which is all they are used for).
 */
record Const(int type, long[] dims, double[] v) {
    static final int FLOAT = Onnx.TensorProto.DataType.FLOAT_VALUE;
    static final int DOUBLE = Onnx.TensorProto.DataType.DOUBLE_VALUE;
    static final int INT64 = Onnx.TensorProto.DataType.INT64_VALUE;
    static final int INT32 = Onnx.TensorProto.DataType.INT32_VALUE;
    static final int BOOL = Onnx.TensorProto.DataType.BOOL_VALUE;
    /** Values beyond this count are not folded (they would be weights, not shape arithmetic). */
    static final long MAX_FOLDED = 1 << 24;

    Const {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
            }
            n *= d;
        }
        if (n != v.length) {
            throw new IllegalArgumentException("dims " + Arrays.toString(dims) + " do not hold " + v.length + " values");
        }
    }

    static Const of(Tensor t) {
        long[] d = new long[t.shape().length];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.shape()[i];
        }
        double[] v = new double[t.data().length];
        for (int i = 0; i < v.length; i++) {
            v[i] = t.data()[i];
        }
        return new Const(FLOAT, d, v);
    }

    static Const scalar(int type, double x) {
        return new Const(type, new long[0], new double[] {x});
    }

    static Const vector(int type, double... x) {
        return new Const(type, new long[] {x.length}, x);
    }

    int rank() {
        return dims.length;
    }

    int size() {
        return v.length;
    }

    boolean integral() {
        return type != FLOAT && type != DOUBLE && type != Onnx.TensorProto.DataType.FLOAT16_VALUE
                && type != Onnx.TensorProto.DataType.BFLOAT16_VALUE;
    }

    long asLong(int i) {
        return (long) v[i];
    }

    long[] longs() {
        long[] r = new long[v.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = (long) v[i];
        }
        return r;
    }

    /** The IR's float tensor (a scalar becomes [1]). */
    Tensor tensor() {
        int[] s = new int[Math.max(1, dims.length)];
        if (dims.length == 0) {
            s[0] = 1;
        }
        for (int i = 0; i < dims.length; i++) {
            s[i] = Math.toIntExact(dims[i]);
        }
        float[] f = new float[v.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) v[i];
        }
        return new Tensor(s, f);
    }

    /** Row-major strides of {@code dims}. */
    static long[] strides(long[] dims) {
        long[] s = new long[dims.length];
        long a = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = a;
            a *= dims[i];
        }
        return s;
    }

    static long count(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }
}
