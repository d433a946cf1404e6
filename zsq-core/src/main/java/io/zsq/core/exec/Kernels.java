package io.zsq.core.exec;

import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.util.EnumMap;
import java.util.Map;

/** The FP32 {@link Kernel} of every op, by {@link OpType}: the one table the engine dispatches through. */
final class Kernels {
    private Kernels() {}

    private static final Map<OpType, Kernel> BY_OP = new EnumMap<>(OpType.class);

    static {
        BY_OP.put(OpType.CONV, Kernel.weighted(
                s -> Ops.conv(s.node, s.in(0), s.batch(), s.inShape(0), s.outShape()),
                (s, dy) -> Ops.convBackward(s.node, dy, s.batch(), s.inShape(0), s.outShape()),
                (s, dy, dw, db) -> Conv.backwardWeights(ConvShape.of(s.node, s.batch(), s.inShape(0), s.outShape()), s.in(0), dy, dw, db)));
        BY_OP.put(OpType.DENSE, Kernel.weighted(
                s -> Ops.dense(s.node, s.in(0), s.batch()),
                (s, dy) -> {
                    Tensor w = s.node.param("W");
                    return Gemm.mul(dy, w.data(), s.batch(), w.dim(0), w.dim(1), false, false);
                },
                (s, dy, dw, db) -> {
                    Tensor w = s.node.param("W");
                    int out = w.dim(0), in = w.dim(1);
                    float[] g = Gemm.mul(dy, s.in(0), out, s.batch(), in, true, false); // dW = dy^T x
                    for (int i = 0; i < g.length; i++) {
                        dw[i] += g[i];
                    }
                    for (int n = 0; n < s.batch(); n++) {
                        for (int o = 0; o < out; o++) {
                            db[o] += dy[n * out + o];
                        }
                    }
                }));
        BY_OP.put(OpType.BATCH_NORM, new Kernel() {
            @Override
            public float[] forward(Step s) {
                return Ops.batchNorm(s.node, s.in(0), s.batch(), s.inShape(0));
            }

            @Override
            public void backward(Step s, float[] dy) {
                float[] into = s.gradient(0); // synthesis seeds every BN input: add into that seed, one pass fewer
                if (into == null) {
                    into = Workspace.zeros(dy.length);
                    s.accumulate(0, into);
                }
                Ops.batchNormBackwardAdd(s.node, dy, s.out(), s.inShape(0), into);
            }

            @Override
            public boolean appliesFusedActivation() {
                return true;
            }
        });
        BY_OP.put(OpType.RELU, Kernel.unary(
                s -> Ops.clamp(s.in(0), 0f, Float.POSITIVE_INFINITY),
                (s, dy) -> Ops.maskInside(dy, s.out(), 0f, Float.POSITIVE_INFINITY)));
        BY_OP.put(OpType.CLIP, Kernel.unary(
                s -> Ops.clamp(s.in(0), lo(s.node, "min"), hi(s.node, "max")),
                (s, dy) -> Ops.maskInside(dy, s.out(), lo(s.node, "min"), hi(s.node, "max"))));
        Kernel add = new Kernel() {
            @Override
            public float[] forward(Step s) {
                return MulOp.add(s.node, s.in(0), s.in(1), s.batch(), s.inShape(0), s.inShape(1));
            }

            @Override
            public void backward(Step s, float[] dy) {
                float[] db = MulOp.reduce(s.node, dy, s.batch(), s.inShape(1), s.outShape());
                if (s.node.op() == OpType.SUB) {
                    float[] neg = Workspace.scratch(db.length);
                    for (int k = 0; k < neg.length; k++) {
                        neg[k] = -db[k];
                    }
                    db = neg;
                }
                s.accumulate(1, db);
                s.accumulate(0, MulOp.reduce(s.node, dy, s.batch(), s.inShape(0), s.outShape()));
            }
        };
        BY_OP.put(OpType.ADD, add);
        BY_OP.put(OpType.SUB, add);
        BY_OP.put(OpType.MUL, new Kernel() {
            @Override
            public float[] forward(Step s) {
                return MulOp.forward(s.node, s.in(0), s.in(1), s.batch(), s.inShape(0), s.inShape(1));
            }

            @Override
            public void backward(Step s, float[] dy) {
                float[][] d = MulOp.backward(s.node, dy, s.in(0), s.in(1), s.batch(), s.inShape(0), s.inShape(1));
                s.accumulate(1, d[1]);
                s.accumulate(0, d[0]);
            }
        });
        BY_OP.put(OpType.MAX_POOL, new Kernel() {
            @Override
            public float[] forward(Step s) {
                int[] arg = Workspace.intScratch(s.batch() * Tensor.size(s.outShape()));
                s.keep(arg);
                return Ops.maxPool(s.node, s.in(0), s.batch(), s.inShape(0), s.outShape(), arg);
            }

            @Override
            public void backward(Step s, float[] dy) {
                s.accumulate(0, Ops.maxPoolBackward(dy, s.kept(), s.batch() * Tensor.size(s.inShape(0))));
            }
        });
        BY_OP.put(OpType.AVG_POOL, Kernel.unary(
                s -> Ops.avgPool(s.node, s.in(0), s.batch(), s.inShape(0), s.outShape(), null),
                (s, dy) -> {
                    float[] dx = Workspace.zeros(s.batch() * Tensor.size(s.inShape(0)));
                    Ops.avgPool(s.node, dy, s.batch(), s.inShape(0), s.outShape(), dx);
                    return dx;
                }));
        BY_OP.put(OpType.GLOBAL_AVG_POOL, Kernel.unary(
                s -> Ops.globalAvgPool(s.in(0), s.batch(), s.inShape(0)),
                (s, dy) -> Ops.globalAvgPoolBackward(dy, s.batch(), s.inShape(0))));
        BY_OP.put(OpType.FLATTEN, Kernel.unary(
                s -> Ops.reorder(s.in(0), s.batch(), s.inShape(0), true),
                (s, dy) -> Ops.reorder(dy, s.batch(), s.inShape(0), false)));
        BY_OP.put(OpType.SLICE, Kernel.unary(
                s -> SliceOp.forward(s.node, s.in(0), s.batch(), s.inShape(0)),
                (s, dy) -> SliceOp.backward(s.node, dy, s.batch(), s.inShape(0))));
        BY_OP.put(OpType.PAD, Kernel.unary(
                s -> PadOp.forward(s.node, s.in(0), s.batch(), s.inShape(0)),
                (s, dy) -> PadOp.backward(s.node, dy, s.batch(), s.inShape(0))));
        Kernel table = Kernel.unary(s -> ActivationOp.forward(s.node, s.in(0)), (s, dy) -> ActivationOp.backward(s.node, dy, s.in(0)));
        BY_OP.put(OpType.SIGMOID, table);
        BY_OP.put(OpType.HARD_SIGMOID, table);
        BY_OP.put(OpType.HARD_SWISH, table);
        BY_OP.put(OpType.CONCAT, new Kernel() {
            @Override
            public float[] forward(Step s) {
                return ConcatOp.forward(s.node.inputs().stream().map(s.trace.values::get).toList(), s.batch(), channels(s), pixels(s));
            }

            @Override
            public void backward(Step s, float[] dy) {
                float[][] d = ConcatOp.backward(dy, s.batch(), channels(s), pixels(s));
                for (int k = 1; k < d.length; k++) {
                    s.accumulate(k, d[k]);
                }
                s.accumulate(0, d[0]);
            }
        });
    }

    /** The kernel of {@code op}; an op without one is an error naming it. */
    static Kernel of(Node n) {
        Kernel k = BY_OP.get(n.op());
        if (k == null) {
            throw new IllegalStateException("node " + n.id() + ": the FP32 engine has no kernel for " + n.op());
        }
        return k;
    }

    private static float lo(Node n, String key) {
        return n.f(key, Float.NEGATIVE_INFINITY);
    }

    private static float hi(Node n, String key) {
        return n.f(key, Float.POSITIVE_INFINITY);
    }

    private static int[] channels(Kernel.Step s) {
        return s.node.inputs().stream().mapToInt(in -> s.graph.shape(in)[0]).toArray();
    }

    private static int pixels(Kernel.Step s) {
        return s.outShape()[1] * s.outShape()[2];
    }
}
