package io.zsq.core.exec;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link Graph} in FP32 on a batch and propagates gradients back to the input. Inputs, outputs
 * and input gradients are NCHW like the models; inside, and in a {@link Trace}, a {@code [C, H, W]}
 * tensor is stored NHWC ({@code [n][h][w][c]}, channel = index mod C, as for {@code [F]} tensors), the
 * layout the convolution kernels want. Every method is stateless; the graph is immutable.
 */
public final class Fp32Engine {
    private Fp32Engine() {}

    /** Replaces a tensor's values (NHWC) as it is produced (fake quantization); {@code null} for none. */
    @FunctionalInterface
    public interface Hook {
        float[] apply(String tensor, float[] values, int batch);
    }

    /**
     * A hook with a backward: fake quantization in training (Level 2). The engine keeps each tensor's
     * values from before the hook in the trace and, going back, hands the hook dLoss/d(its output) with
     * them; the hook returns dLoss/d(its input) (straight-through inside the clipping range) and may record
     * gradients of its own parameters (learned step sizes). It may overwrite {@code dy} and return it.
     * Fused-activation masks are taken on the values before the hook.
     */
    public interface Quantizer extends Hook {
        float[] backward(String tensor, float[] dy, float[] raw, int batch);
    }

    /** Every tensor of one forward pass (NHWC), and the max-pool winners, for {@link #backward}. */
    public static final class Trace {
        public final int batch;
        public final Map<String, float[]> values = new HashMap<>();
        final Map<String, int[]> argmax = new HashMap<>();
        /** Values before a {@link Quantizer} replaced them. */
        final Map<String, float[]> raw = new HashMap<>();

        Trace(int batch) {
            this.batch = batch;
        }

        /** The tensor in the model's layout (NCHW). */
        public float[] nchw(Graph g, String tensor) {
            return Ops.reorder(values.get(tensor), batch, g.shape(tensor), true);
        }

        /** The tensor as stored: NHWC for {@code [C, H, W]}. */
        public float[] get(String tensor) {
            return values.get(tensor);
        }
    }

    /** The graph's output for an NCHW batch, NCHW. */
    public static float[] run(Graph g, float[] input, int batch) {
        return Ops.reorder(forward(g, input, batch, null).get(g.output()), batch, g.shape(g.output()), true);
    }

    /** All tensors of the graph for an NCHW batch (stored NHWC), with {@code hook} applied as each is produced. */
    public static Trace forward(Graph g, float[] input, int batch, Hook hook) {
        return forward(g, input, batch, hook, null);
    }

    /**
     * {@link #forward(Graph, float[], int, Hook)} taking every array of the trace from {@code ws} (when
     * not null): the trace is valid until the workspace's next {@link Workspace#recycle}.
     */
    public static Trace forward(Graph g, float[] input, int batch, Hook hook, Workspace ws) {
        return Workspace.within(ws, () -> forwardPass(g, input, batch, hook));
    }

    private static Trace forwardPass(Graph g, float[] input, int batch, Hook hook) {
        int per = Tensor.size(g.inputShape());
        if (input.length != per * batch) {
            throw new IllegalArgumentException("input holds " + input.length + " values, " + batch + " images of "
                    + java.util.Arrays.toString(g.inputShape()) + " need " + per * batch);
        }
        Trace t = new Trace(batch);
        float[] in = Ops.reorder(input, batch, g.inputShape(), false);
        boolean keepRaw = hook instanceof Quantizer;
        if (keepRaw) {
            t.raw.put(g.input(), in);
        }
        t.values.put(g.input(), hook == null ? in : hook.apply(g.input(), in, batch));
        for (Node n : g.nodes()) {
            Kernel k = Kernels.of(n);
            float[] y = k.forward(new Kernel.Step(g, n, t, null));
            if (n.hasFusedActivation() && !k.appliesFusedActivation()) {
                y = Ops.clamp(y, n.f("fusedMin", Float.NEGATIVE_INFINITY), n.f("fusedMax", Float.POSITIVE_INFINITY));
            }
            if (keepRaw) {
                t.raw.put(n.output(), y);
            }
            t.values.put(n.output(), hook == null ? y : hook.apply(n.output(), y, batch));
        }
        return t;
    }

    /**
     * Reverse mode to the input: {@code seeds} holds dLoss/dTensor (NHWC, like the trace) for any
     * tensors the loss reads directly, the input included; returns dLoss/dInput, NCHW. Non-differentiable points (ReLU at 0, max ties) take the usual
     * subgradient (0, the first maximum).
     */
    public static float[] backward(Graph g, Trace t, Map<String, float[]> seeds) {
        return backward(g, t, seeds, null);
    }

    /** {@link #backward(Graph, Trace, Map)} taking its arrays from {@code ws} (when not null), the result included. */
    public static float[] backward(Graph g, Trace t, Map<String, float[]> seeds, Workspace ws) {
        return Workspace.within(ws, () -> backwardPass(g, t, seeds, true));
    }

    /**
     * {@link #backward(Graph, Trace, Map, Workspace)} that takes the seed arrays over: gradients are added
     * into them (no copy), so the caller must not read them after. The arrays must be distinct.
     */
    public static float[] backwardConsumingSeeds(Graph g, Trace t, Map<String, float[]> seeds, Workspace ws) {
        return Workspace.within(ws, () -> backwardPass(g, t, seeds, false, null, null, true));
    }

    /**
     * Reverse mode to the parameters (Level 2): adds dLoss/dW and dLoss/dB of every CONV and DENSE node
     * into {@code into}, with {@code quantizer} (the hook the forward pass ran with, or null) taking the
     * gradient through each tensor it replaced. The graph input's gradient is not computed.
     */
    public static void backwardToParameters(Graph g, Trace t, Map<String, float[]> seeds, Quantizer quantizer, ParameterGradients into,
                                            Workspace ws) {
        Workspace.within(ws, () -> backwardPass(g, t, seeds, true, quantizer, into, false));
    }

    private static float[] backwardPass(Graph g, Trace t, Map<String, float[]> seeds, boolean copySeeds) {
        return backwardPass(g, t, seeds, copySeeds, null, null, true);
    }

    private static float[] backwardPass(Graph g, Trace t, Map<String, float[]> seeds, boolean copySeeds, Quantizer quantizer,
                                        ParameterGradients params, boolean inputGradient) {
        Map<String, float[]> grad = new HashMap<>();
        for (Map.Entry<String, float[]> e : seeds.entrySet()) {
            if (!copySeeds && grad.containsValue(e.getValue())) {
                throw new IllegalArgumentException("seed of " + e.getKey() + " shares its array with another seed");
            }
            grad.put(e.getKey(), copySeeds ? copy(e.getValue()) : e.getValue());
        }
        int batch = t.batch;
        List<Node> nodes = g.nodes();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            float[] dy = grad.remove(n.output());
            if (dy == null) {
                continue;
            }
            Kernel k = Kernels.of(n);
            float[] before = quantizer == null ? null : t.raw.get(n.output());
            if (before != null) {
                dy = quantizer.backward(n.output(), dy, before, batch);
            }
            if (n.hasFusedActivation() && !k.appliesFusedActivation()) {
                float[] raw = dy;
                dy = Ops.maskInside(dy, before != null ? before : t.values.get(n.output()), n.f("fusedMin", Float.NEGATIVE_INFINITY),
                        n.f("fusedMax", Float.POSITIVE_INFINITY));
                Workspace.release(raw);
            }
            k.backward(new Kernel.Step(g, n, t, grad, params, inputGradient), dy);
            if (!grad.containsValue(dy)) { // consumed (a kernel may pass it on as an input's gradient)
                Workspace.release(dy);
            }
        }
        if (!inputGradient) {
            return null;
        }
        float[] d = grad.get(g.input());
        if (d != null && quantizer != null && t.raw.containsKey(g.input())) {
            d = quantizer.backward(g.input(), d, t.raw.get(g.input()), batch);
        }
        return d != null ? Ops.reorder(d, batch, g.inputShape(), true) : Workspace.zeros(t.values.get(g.input()).length);
    }

    private static float[] copy(float[] a) {
        float[] c = Workspace.scratch(a.length);
        System.arraycopy(a, 0, c, 0, a.length);
        return c;
    }

    /**
     * The graph with each RELU or CLIP that is the only reader of a BATCH_NORM's output applied by that
     * node (its fused activation): the same values and gradients in one pass fewer each way, for loops
     * that read BatchNorm inputs and the output but not BatchNorm outputs (synthesis). Other graphs are
     * returned as they are.
     */
    public static Graph fuseActivationsIntoBatchNorm(Graph g) {
        io.zsq.core.ir.ActivationFusion.Fused f = io.zsq.core.ir.ActivationFusion.fuse(g, java.util.Set.of(io.zsq.core.ir.OpType.BATCH_NORM));
        return f.into().isEmpty() ? g : g.withNodes(f.nodes(), null);
    }

    /** Adds d into the tensor's gradient; d is copied only when the map would otherwise share it. */
    static void accumulate(Map<String, float[]> grad, String tensor, float[] d) {
        float[] prev = grad.get(tensor);
        if (prev == null) {
            grad.put(tensor, grad.containsValue(d) ? copy(d) : d);
        } else {
            for (int i = 0; i < d.length; i++) {
                prev[i] += d[i];
            }
        }
    }
}
