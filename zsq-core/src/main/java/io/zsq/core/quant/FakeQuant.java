package io.zsq.core.quant;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * FP32 simulation of an integer model: weights and biases replaced by their quantize-dequantize
 * values, and every activation tensor fake-quantized by a hook as it is produced.
 */
public final class FakeQuant {
    private FakeQuant() {}

    public record Simulation(Graph graph, Fp32Engine.Hook hook) {
        /** The output for an NCHW batch (NCHW). */
        public float[] run(float[] input, int batch) {
            return Fp32Engine.forward(graph, input, batch, hook).nchw(graph, graph.output());
        }
    }

    public static Simulation of(Graph g, Map<String, QParams> points, int weightBits) {
        return of(g, points, Scheme.of(weightBits, 8));
    }

    /** The simulation of {@code g} quantized by {@code scheme} (its weights part) with these activation parameters. */
    public static Simulation of(Graph g, Map<String, QParams> points, Scheme scheme) {
        return of(g, Quantization.of(g, scheme, points, java.util.Set.of()));
    }

    /** The simulation of {@code g} with a placed quantization, as it is. */
    public static Simulation of(Graph g, Quantization quantization) {
        Map<String, QParams> act = quantization.activations();
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.op() == OpType.CONV || n.op() == OpType.DENSE) {
                Tensor w = n.param("W");
                ChannelQParams wq = quantization.weights(n);
                Map<String, Tensor> p = new LinkedHashMap<>();
                p.put("W", new Tensor(w.shape(), wq.fakeQuantize(w.data())));
                float[] b = simulatedBias(n, wq, act.get(n.input()));
                p.put("B", new Tensor(new int[] {b.length}, b));
                nodes.add(n.withParams(p));
            } else {
                nodes.add(n);
            }
        }
        Graph sim = g.withNodes(nodes, null);
        Fp32Engine.Hook hook = (tensor, values, batch) -> {
            QParams q = act.get(tensor);
            if (q == null) {
                return values;
            }
            float[] r = new float[values.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = q.fakeQuantize(values[i]);
            }
            return r;
        };
        return new Simulation(sim, hook);
    }

    /** The FP32 value of the int32 bias the integer model adds: {@link #quantizedBias} times {@code S_in * S_w[c]}. */
    public static float[] simulatedBias(Node n, ChannelQParams wq, QParams in) {
        int[] qb = quantizedBias(n, wq, in);
        float[] b = new float[qb.length];
        for (int c = 0; c < b.length; c++) {
            b[c] = (float) ((double) qb[c] * in.scale() * wq.scales()[c]);
        }
        return b;
    }

    /** int32 bias {@code round(b / (S_in * S_w[c]))}, saturated. */
    public static int[] quantizedBias(Node n, ChannelQParams wq, QParams in) {
        int outC = wq.scales().length;
        Tensor b = n.param("B");
        int[] q = new int[outC];
        for (int c = 0; c < outC; c++) {
            double v = b == null ? 0 : b.data()[c] / ((double) in.scale() * wq.scales()[c]);
            q[c] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, Math.round(v)));
        }
        return q;
    }

    /** Quantizes an FP32 input batch with the input's parameters. */
    public static byte[][] quantizeInput(float[] x, int batch, QParams q) {
        int per = x.length / batch;
        byte[][] out = new byte[batch][per];
        for (int i = 0; i < batch; i++) {
            for (int j = 0; j < per; j++) {
                out[i][j] = (byte) q.quantize(x[i * per + j]);
            }
        }
        return out;
    }
}
