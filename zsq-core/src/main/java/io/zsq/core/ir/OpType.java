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
    /**
     * Element-wise add of two activations with numpy broadcasting over {@code (C, H, W)}, as
     * {@link #MUL} ({@link Broadcast#of}); the integer model expands a broadcast input first
     * (data movement), then adds tensors of one shape.
     */
    ADD,
    /** {@code a - b}, broadcasting as {@link #ADD}; lowered as an add whose second multiplier is negative. */
    SUB,
    /** ints kernel[2], strides[2], pads[4]. */
    MAX_POOL,
    /** ints kernel[2], strides[2], pads[4], countIncludePad[1]. */
    AVG_POOL,
    GLOBAL_AVG_POOL,
    /** to [N, F] in NCHW order. */
    FLATTEN,
    /** params W [out, in], optional B [out]. */
    DENSE,
    /**
     * A strided crop of a {@code [C, H, W]} tensor (ONNX Slice over axes 1..3; the batch axis is never
     * sliced): ints {@code starts[3]}, {@code ends[3]}, {@code steps[3]}, each over (C, H, W), as ONNX
     * gives them after the importer clamped them to int range. Per axis of size {@code dim}: a
     * negative start or end counts from the end ({@code + dim}), then both are clamped to
     * {@code [0, dim]}; {@code steps >= 1} (the importer refuses zero and negative steps); the output
     * has {@code max(0, ceil((end - start) / step))} entries, element {@code i} reading
     * {@code start + i * step}. An output dimension of 0 is an error naming the node.
     * {@link SliceWindow#of} is the one place this normalization is done. Keeps its input's
     * quantization.
     */
    SLICE,
    /**
     * Constant zero padding of a {@code [C, H, W]} tensor (ONNX Pad, mode constant, value 0; the
     * importer refuses other modes and values): ints {@code pads[6]} = {@code [c_begin, h_begin,
     * w_begin, c_end, h_end, w_end]}, all {@code >= 0} (a negative pad is an error naming the node);
     * output dims {@code in + begin + end}. The fill is 0.0, which in the integer domain is exactly the
     * input's zero point. {@link PadWidths#of} checks and reads them. Keeps its input's quantization.
     */
    PAD,
    /**
     * Element-wise product of two activations ({@code inputs()} a, b) with numpy broadcasting over
     * {@code (C, H, W)}: both of one rank, each dimension equal or 1 in one of them (a squeeze-excite
     * gate {@code [C, 1, 1]} or {@code [1, 1, 1]} times {@code [C, H, W]}); {@link Broadcast#of} is the
     * one place the rule is applied. A quantization point at its output; a ReLU or clip may be fused.
     */
    MUL,
    /** {@code 1 / (1 + e^-x)}. A quantization point at its output; lowered to a 256-entry table. */
    SIGMOID,
    /**
     * {@code max(0, min(1, alpha * x + beta))}: floats {@code alpha} (ONNX's default 0.2; PyTorch's
     * Hardsigmoid is 1/6) and {@code beta} (default 0.5). A quantization point; lowered to a table.
     */
    HARD_SIGMOID,
    /** {@code x * max(0, min(1, x / 6 + 1/2))}. A quantization point; lowered to a table. */
    HARD_SWISH,
    /**
     * Concatenation along channels of two or more {@code [C_i, H, W]} activations ({@code inputs()},
     * in order; equal H and W), giving {@code [sum C_i, H, W]}. A quantization point at its output;
     * each input is requantized to the output's parameters.
     */
    CONCAT
}
