package io.zsq.core.exec;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import java.util.Map;

/**
 * What the FP32 engine knows of one op: its forward, and the gradients to its inputs. Each op registers
 * one in {@link Kernels}; {@link Fp32Engine} only walks the graph and calls them, so an op's FP32
 * behaviour is found in one place (ONNX Runtime's kernel registry, XNNPACK's one operator per unit).
 * Tensors are NHWC batches as everywhere in the engine.
 */
interface Kernel {

    /** The node's output for the values its inputs have in the pass. */
    float[] forward(Step s);

    /** Adds dLoss/dInput for each input ({@link Step#accumulate}) from dLoss/dOutput {@code dy}. */
    void backward(Step s, float[] dy);

    /**
     * Whether the kernel applies the node's fused activation itself (in its forward loop, and the mask in
     * its backward, which then receives dy unmasked); otherwise the engine clamps after it and masks before.
     */
    default boolean appliesFusedActivation() {
        return false;
    }

    /** A kernel of an op that reads one input: {@code backward} gives the gradient to it. */
    static Kernel unary(java.util.function.Function<Step, float[]> forward, java.util.function.BiFunction<Step, float[], float[]> backward) {
        return new Kernel() {
            @Override
            public float[] forward(Step s) {
                return forward.apply(s);
            }

            @Override
            public void backward(Step s, float[] dy) {
                s.accumulate(0, backward.apply(s, dy));
            }
        };
    }

    /**
     * A kernel of an op with weights: {@code params} adds dLoss/dW and dLoss/dB into the two arrays when
     * the pass asks for them ({@link Step#params}), {@code backward} gives the input gradient when it is wanted.
     */
    static Kernel weighted(java.util.function.Function<Step, float[]> forward, java.util.function.BiFunction<Step, float[], float[]> backward,
                           ParamGradient params) {
        return new Kernel() {
            @Override
            public float[] forward(Step s) {
                return forward.apply(s);
            }

            @Override
            public void backward(Step s, float[] dy) {
                if (s.params() != null) {
                    int outC = s.node.param("W").dim(0);
                    params.add(s, dy, s.params().weightInto(s.node.id(), s.node.param("W").data().length), s.params().biasInto(s.node.id(), outC));
                }
                if (s.wantsGradient(0)) {
                    s.accumulate(0, backward.apply(s, dy));
                }
            }
        };
    }

    /** Adds a weighted op's dLoss/dW and dLoss/dB for one pass. */
    @FunctionalInterface
    interface ParamGradient {
        void add(Step s, float[] dy, float[] dw, float[] db);
    }

    /** One node in one pass: its inputs' values and shapes, its output, and where input gradients go. */
    final class Step {
        final Graph graph;
        final Node node;
        final Fp32Engine.Trace trace;
        private final Map<String, float[]> grads;
        private final ParameterGradients params;
        private final boolean inputGradient;

        Step(Graph graph, Node node, Fp32Engine.Trace trace, Map<String, float[]> grads) {
            this(graph, node, trace, grads, null, true);
        }

        Step(Graph graph, Node node, Fp32Engine.Trace trace, Map<String, float[]> grads, ParameterGradients params, boolean inputGradient) {
            this.graph = graph;
            this.node = node;
            this.trace = trace;
            this.grads = grads;
            this.params = params;
            this.inputGradient = inputGradient;
        }

        /** Where the pass wants dLoss/dParameters (Level 2), or null when it wants input gradients only. */
        ParameterGradients params() {
            return params;
        }

        /** Whether input {@code i}'s gradient is wanted: false only for the graph's input in a pass that does not want it. */
        boolean wantsGradient(int i) {
            return inputGradient || !node.inputs().get(i).equals(graph.input());
        }

        int batch() {
            return trace.batch;
        }

        /** Input {@code i}'s values. */
        float[] in(int i) {
            return trace.values.get(node.inputs().get(i));
        }

        /** Input {@code i}'s per-image shape. */
        int[] inShape(int i) {
            return graph.shape(node.inputs().get(i));
        }

        int inputs() {
            return node.inputs().size();
        }

        int[] outShape() {
            return graph.shape(node.output());
        }

        /** The output's values (in backward). */
        float[] out() {
            return trace.values.get(node.output());
        }

        /** Side data the forward keeps for the backward (max-pool winners). */
        void keep(int[] data) {
            trace.argmax.put(node.output(), data);
        }

        int[] kept() {
            return trace.argmax.get(node.output());
        }

        /** Input {@code i}'s gradient so far, to add into in place, or null when none has reached it yet. */
        float[] gradient(int i) {
            return grads.get(node.inputs().get(i));
        }

        /** Adds {@code d} into input {@code i}'s gradient. */
        void accumulate(int i, float[] d) {
            Fp32Engine.accumulate(grads, node.inputs().get(i), d);
        }
    }
}
