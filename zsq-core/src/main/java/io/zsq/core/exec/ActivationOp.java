package io.zsq.core.exec;

import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;

/**
 * FP32 forward and input gradient of the element-wise functions lowered to lookup tables:
 * {@link OpType#SIGMOID}, {@link OpType#HARD_SIGMOID} and {@link OpType#HARD_SWISH}.
 * {@link #f} is the one definition: the engine, the fake-quant simulation and the integer lowering's
 * tables all call it, so a table entry is exactly what the simulation computes for that input level.
 */
public final class ActivationOp {
    /** PyTorch's Hardswish, ONNX HardSwish: {@code x * hardSigmoid(x; 1/6, 1/2)}. */
    public static final float HARD_SWISH_ALPHA = 1f / 6f, HARD_SWISH_BETA = 0.5f;

    private ActivationOp() {}

    public static boolean is(OpType op) {
        return op == OpType.SIGMOID || op == OpType.HARD_SIGMOID || op == OpType.HARD_SWISH;
    }

    /** The ONNX operator of this function. */
    public static String onnxName(OpType op) {
        return switch (op) {
            case SIGMOID -> "Sigmoid";
            case HARD_SIGMOID -> "HardSigmoid";
            case HARD_SWISH -> "HardSwish";
            default -> throw new IllegalArgumentException(op + " is no element-wise activation");
        };
    }

    /** The function of node {@code n} at {@code x}. */
    public static float f(Node n, float x) {
        switch (n.op()) {
            case SIGMOID:
                return (float) (1 / (1 + Math.exp(-(double) x)));
            case HARD_SIGMOID:
                return hardSigmoid(x, n.f("alpha", 0.2f), n.f("beta", 0.5f));
            case HARD_SWISH:
                return x * hardSigmoid(x, HARD_SWISH_ALPHA, HARD_SWISH_BETA);
            default:
                throw new IllegalArgumentException("node " + n.id() + " (" + n.op() + ") is no element-wise activation");
        }
    }

    /** {@code df/dx} at {@code x} (at the kinks of the hard functions: the one-sided value of the flat side). */
    public static float df(Node n, float x) {
        switch (n.op()) {
            case SIGMOID: {
                double s = 1 / (1 + Math.exp(-(double) x));
                return (float) (s * (1 - s));
            }
            case HARD_SIGMOID: {
                float alpha = n.f("alpha", 0.2f), v = alpha * x + n.f("beta", 0.5f);
                return v > 0 && v < 1 ? alpha : 0f;
            }
            case HARD_SWISH: {
                float v = HARD_SWISH_ALPHA * x + HARD_SWISH_BETA;
                return v <= 0 ? 0f : v >= 1 ? 1f : v + HARD_SWISH_ALPHA * x;
            }
            default:
                throw new IllegalArgumentException("node " + n.id() + " (" + n.op() + ") is no element-wise activation");
        }
    }

    static float hardSigmoid(float x, float alpha, float beta) {
        return Math.max(0f, Math.min(1f, alpha * x + beta));
    }

    public static float[] forward(Node n, float[] x) {
        float[] y = Workspace.zeros(x.length);
        for (int i = 0; i < x.length; i++) {
            y[i] = f(n, x[i]);
        }
        return y;
    }

    public static float[] backward(Node n, float[] dy, float[] x) {
        float[] dx = Workspace.zeros(x.length);
        for (int i = 0; i < x.length; i++) {
            dx[i] = dy[i] * df(n, x[i]);
        }
        return dx;
    }
}
