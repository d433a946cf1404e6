package io.zsq.core.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.zsq.core.SliceAndPadNet;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link SliceOp} and {@link PadOp} in the engine: forward against an NCHW definition over random
 * geometry, and the engine's input gradient of a scalar loss against central finite differences, for
 * the ops alone and for conv -> slice/pad -> conv networks ({@link SliceAndPadNet}).
 */
class SliceAndPadEngineTest {
    private final SplittableRandom r = new SplittableRandom(41);

    private float[] gaussian(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private Node randomSlice(int[] in) {
        int[] st = new int[3], en = new int[3], sp = new int[3];
        for (int a = 0; a < 3; a++) {
            int s = r.nextInt(in[a]), e = r.nextInt(s + 1, in[a] + 1);
            st[a] = r.nextBoolean() ? s : s - in[a]; // from the end
            en[a] = e == in[a] && r.nextBoolean() ? Integer.MAX_VALUE : r.nextBoolean() || e == in[a] ? e : e - in[a];
            sp[a] = r.nextInt(1, 4);
        }
        return new Node("s", OpType.SLICE, List.of("x"), "y", Map.of("starts", st, "ends", en, "steps", sp), Map.of(), Map.of());
    }

    private Node randomPad() {
        int[] p = new int[6];
        for (int i = 0; i < 6; i++) {
            p[i] = r.nextInt(0, 3);
        }
        return new Node("p", OpType.PAD, List.of("x"), "y", Map.of("pads", p), Map.of(), Map.of());
    }

    /** y[n][c][h][w] = x[n][start + c*step][...]: the slice straight from the definition, NCHW. */
    static float[] sliceReference(float[] x, int batch, int[] in, int[] starts, int[] steps, int[] out) {
        float[] y = new float[batch * Tensor.size(out)];
        int i = 0;
        for (int n = 0; n < batch; n++) {
            for (int c = 0; c < out[0]; c++) {
                for (int h = 0; h < out[1]; h++) {
                    for (int w = 0; w < out[2]; w++) {
                        int ic = starts[0] + c * steps[0], ih = starts[1] + h * steps[1], iw = starts[2] + w * steps[2];
                        y[i++] = x[((n * in[0] + ic) * in[1] + ih) * in[2] + iw];
                    }
                }
            }
        }
        return y;
    }

    static float[] padReference(float[] x, int batch, int[] in, int[] pads) {
        int[] out = {in[0] + pads[0] + pads[3], in[1] + pads[1] + pads[4], in[2] + pads[2] + pads[5]};
        float[] y = new float[batch * Tensor.size(out)];
        int i = 0;
        for (int n = 0; n < batch; n++) {
            for (int c = 0; c < out[0]; c++) {
                for (int h = 0; h < out[1]; h++) {
                    for (int w = 0; w < out[2]; w++, i++) {
                        int ic = c - pads[0], ih = h - pads[1], iw = w - pads[2];
                        if (ic >= 0 && ic < in[0] && ih >= 0 && ih < in[1] && iw >= 0 && iw < in[2]) {
                            y[i] = x[((n * in[0] + ic) * in[1] + ih) * in[2] + iw];
                        }
                    }
                }
            }
        }
        return y;
    }

    @Test
    void forwardMatchesTheDefinition() {
        for (int t = 0; t < 200; t++) {
            int[] in = {r.nextInt(1, 7), r.nextInt(1, 9), r.nextInt(1, 9)};
            int batch = r.nextInt(1, 4);
            float[] x = gaussian(batch * Tensor.size(in));
            Node s = randomSlice(in);
            Graph g = Graph.of("x", in, "y", List.of(s), Set.of(), Map.of());
            io.zsq.core.ir.SliceWindow w = io.zsq.core.ir.SliceWindow.of(s, in);
            assertArrayEquals(sliceReference(x, batch, in, w.starts(), w.steps(), w.outShape()), Fp32Engine.run(g, x, batch), "slice case " + t);
            Node p = randomPad();
            Graph gp = Graph.of("x", in, "y", List.of(p), Set.of(), Map.of());
            assertArrayEquals(padReference(x, batch, in, p.ints("pads")), Fp32Engine.run(gp, x, batch), "pad case " + t);
        }
    }

    /**
     * The ops alone are linear, so the adjoint identity is exact: {@code <dy, op(dx)> = <op^T(dy), dx>}
     * for random dx and dy, and backward of the slice scatters into zeros (the positions not read get 0).
     */
    @Test
    void backwardIsTheAdjointOfForward() {
        for (int t = 0; t < 100; t++) {
            int[] in = {r.nextInt(1, 7), r.nextInt(1, 9), r.nextInt(1, 9)};
            int batch = r.nextInt(1, 3);
            Node op = t % 2 == 0 ? randomSlice(in) : randomPad();
            Graph g = Graph.of("x", in, "y", List.of(op), Set.of(), Map.of());
            float[] dx = gaussian(batch * Tensor.size(in));
            Fp32Engine.Trace tr = Fp32Engine.forward(g, dx, batch, null);
            float[] dy = gaussian(tr.get("y").length);
            double lhs = 0, rhs = 0;
            for (int i = 0; i < dy.length; i++) {
                lhs += (double) dy[i] * tr.get("y")[i]; // both NHWC
            }
            float[] back = Fp32Engine.backward(g, tr, Map.of("y", dy)); // NCHW
            for (int i = 0; i < dx.length; i++) {
                rhs += (double) back[i] * dx[i];
            }
            assertEquals(lhs, rhs, 1e-4 * (1 + Math.abs(lhs)), op.op() + " case " + t);
            if (op.op() == OpType.SLICE) {
                io.zsq.core.ir.SliceWindow w = io.zsq.core.ir.SliceWindow.of(op, in);
                float[] ones = new float[dy.length];
                java.util.Arrays.fill(ones, 1f);
                float[] mask = Fp32Engine.backward(g, tr, Map.of("y", ones));
                double sum = 0;
                for (float v : mask) {
                    assertEquals(true, v == 0f || v == 1f, "each input position read at most once");
                    sum += v;
                }
                assertEquals(batch * Tensor.size(w.outShape()), sum, 0);
            }
        }
    }

    /** L = sum_j c_j y_j^2 / 2 over the logits of the ReLU-free network: its input gradient against central differences. */
    @Test
    void networkInputGradientMatchesFiniteDifferences() {
        Graph g = SliceAndPadNet.build(42, false).graph();
        int batch = 2;
        float[] x = SliceAndPadNet.input(8, batch);
        float[] c = gaussian(batch * SliceAndPadNet.CLASSES);
        Fp32Engine.Trace t = Fp32Engine.forward(g, x, batch, null);
        float[] y = t.get("y"), seed = new float[y.length];
        for (int i = 0; i < y.length; i++) {
            seed[i] = c[i] * y[i];
        }
        float[] grad = Fp32Engine.backward(g, t, Map.of("y", seed));
        double h = 1e-2;
        for (int trial = 0; trial < 6; trial++) {
            float[] d = gaussian(x.length);
            DirectionalDerivative.check(grad, d, step -> loss(g, x, d, step, batch, c), h, 0.01, 1e-4, "directional derivative, trial " + trial);
        }
        for (int k = 0; k < 5; k++) { // the largest coordinates
            int best = 0;
            for (int i = 1; i < grad.length; i++) {
                best = Math.abs(grad[i]) > Math.abs(grad[best]) ? i : best;
            }
            float[] e = new float[x.length];
            e[best] = 1;
            double fd = (loss(g, x, e, h, batch, c) - loss(g, x, e, -h, batch, c)) / (2 * h);
            assertEquals(fd, grad[best], 0.01 * Math.abs(fd) + 1e-4, "coordinate " + best);
            grad[best] = 0;
        }
    }

    private static double loss(Graph g, float[] x, float[] d, double h, int batch, float[] c) {
        float[] xp = x.clone();
        for (int i = 0; i < xp.length; i++) {
            xp[i] += (float) (h * d[i]);
        }
        float[] y = Fp32Engine.run(g, xp, batch); // [N, 10]: the same order as the trace's
        double l = 0;
        for (int i = 0; i < y.length; i++) {
            l += 0.5 * c[i] * y[i] * y[i];
        }
        return l;
    }
}
