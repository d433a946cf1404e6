package io.zsq.core.passes;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Property;
import io.zsq.core.ir.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds every BatchNorm into the CONV or DENSE that feeds it: {@code W' = W * a}, {@code b' = (b - mean) * a + beta}
 * with {@code a = gamma / sqrt(var + eps)} per output channel, and keeps the BN's beta and |gamma| as
 * statistics of the output ({@link Node#STATS_BETA}, {@link Node#STATS_GAMMA}). A BatchNorm after anything else, or
 * after a layer whose output is also read elsewhere, is an error naming the node.
 */
public final class FoldBatchNorm implements Pass<FoldBatchNorm.Report> {

    /** The BatchNorm nodes folded, by id, with the layer each went into. */
    public record Report(int folded, Map<String, String> into) {}

    @Override
    public String name() {
        return "fold-batchnorm";
    }

    @Override
    public Set<Property> requires() {
        return Set.of();
    }

    @Override
    public Property establishes() {
        return Property.BN_FOLDED;
    }

    @Override
    public Result<Report> run(ModelState state, Stats stats) {
        Graph g = state.graph();
        Map<String, String> into = new LinkedHashMap<>();
        Map<String, List<Node>> consumers = g.consumers();
        Map<String, Node> byOutput = new HashMap<>();
        List<Node> out = new ArrayList<>();
        int folded = 0;
        for (Node n : g.nodes()) {
            if (n.op() != OpType.BATCH_NORM) {
                out.add(n);
                byOutput.put(n.output(), n);
                continue;
            }
            Node prev = byOutput.get(n.input());
            if (prev == null || (prev.op() != OpType.CONV && prev.op() != OpType.DENSE) || consumers.get(n.input()).size() != 1) {
                throw new IllegalArgumentException("BatchNorm node " + n.id() + " does not directly follow a convolution or dense layer "
                        + "with no other reader, so it cannot be folded");
            }
            Node f = fold(prev, n).withOutput(n.output());
            into.put(n.id(), prev.id());
            out.set(out.indexOf(prev), f);
            byOutput.put(f.output(), f);
            folded++;
        }
        return new Result<>(state.withGraph(g.withNodes(out, Property.BN_FOLDED)), new Report(folded, into));
    }

    static Node fold(Node layer, Node bn) {
        float[] s = bn.param("scale").data(), beta = bn.param("bias").data(), m = bn.param("mean").data(), v = bn.param("var").data();
        float eps = bn.f("epsilon", 1e-5f);
        Tensor w = layer.param("W");
        int outC = w.dim(0), per = w.data().length / outC;
        float[] nw = new float[w.data().length];
        float[] nb = new float[outC];
        Tensor b = layer.param("B");
        for (int c = 0; c < outC; c++) {
            if (!((double) v[c] + eps > 0)) {
                throw new IllegalArgumentException("BatchNorm node " + bn.id() + ": channel " + c + " has variance " + v[c]
                        + " (with epsilon " + eps + "), which cannot be folded; the statistics are damaged");
            }
            double a = s[c] / Math.sqrt((double) v[c] + eps);
            for (int i = 0; i < per; i++) {
                nw[c * per + i] = (float) (w.data()[c * per + i] * a);
            }
            double bias = b == null ? 0 : b.data()[c];
            nb[c] = (float) ((bias - m[c]) * a + beta[c]);
        }
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", new Tensor(w.shape(), nw));
        p.put("B", new Tensor(new int[] {outC}, nb));
        // the BN's output distribution per channel, N(beta, gamma^2), kept for data-free bias correction
        float[] g = new float[outC];
        for (int c = 0; c < outC; c++) {
            g[c] = Math.abs(s[c]);
        }
        p.put(Node.STATS_BETA, new Tensor(new int[] {outC}, beta.clone()));
        p.put(Node.STATS_GAMMA, new Tensor(new int[] {outC}, g));
        return layer.withParams(p);
    }
}
