package io.zsq.core.ir;

/** The operations of the IR. */
public enum OpType {
    /** params W [O, I/group, kh, kw], optional B [O]; ints strides[2], pads[4] (top, left, bottom, right), group[1]. */
    CONV,
    /** params scale, bias, mean, var [C]; floats epsilon. Inference form: (x - mean) / sqrt(var + eps) * scale + bias. */
    BATCH_NORM,
    RELU,
    /** floats min, max (ReLU6 is CLIP 0..6). */
    CLIP,
    /** element-wise add of two tensors of one shape. */
    ADD,
    /** ints kernel[2], strides[2], pads[4]. */
    MAX_POOL,
    /** ints kernel[2], strides[2], pads[4], countIncludePad[1]. */
    AVG_POOL,
    GLOBAL_AVG_POOL,
    /** to [N, F] in NCHW order. */
    FLATTEN,
    /** params W [out, in], optional B [out]. */
    DENSE
}
