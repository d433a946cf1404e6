package io.zsq.ptq;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.QuantPoints;
import io.zsq.core.quant.Scheme;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Observes every quantization point of a canonical graph over batches. The observation of a set of
 * batches is the merge of the observations of its parts, in any grouping: that is what a Spark job
 * relies on to get the single-machine result from N partitions.
 */
public final class Calibrator {
    private Calibrator() {}

    /** Accumulators of every quantization point after one batch. */
    public static Map<String, ObserverSpec.Accumulator> observe(Graph g, ObserverSpec spec, float[] x, int batch) {
        List<String> points = QuantPoints.of(g);
        Map<String, ObserverSpec.Accumulator> acc = empty(g, spec);
        Fp32Engine.forward(g, x, batch, (tensor, values, n) -> {
            ObserverSpec.Accumulator a = acc.get(tensor);
            if (a != null) {
                a.observe(values);
            }
            return values;
        });
        if (!acc.keySet().containsAll(points)) {
            throw new IllegalStateException("points not observed");
        }
        return acc;
    }

    public static Map<String, ObserverSpec.Accumulator> empty(Graph g, ObserverSpec spec) {
        Map<String, ObserverSpec.Accumulator> acc = new LinkedHashMap<>();
        for (String p : QuantPoints.of(g)) {
            acc.put(p, spec.empty());
        }
        return acc;
    }

    public static Map<String, ObserverSpec.Accumulator> merge(Map<String, ObserverSpec.Accumulator> a,
                                                             Map<String, ObserverSpec.Accumulator> b) {
        Map<String, ObserverSpec.Accumulator> m = new LinkedHashMap<>();
        for (Map.Entry<String, ObserverSpec.Accumulator> e : a.entrySet()) {
            m.put(e.getKey(), e.getValue().merge(b.get(e.getKey())));
        }
        return m;
    }

    /** Per-tensor asymmetric activation parameters from the observed ranges, one bit width for all. */
    public static Map<String, QParams> finish(Map<String, ObserverSpec.Accumulator> acc, int activationBits) {
        Map<String, QParams> q = new LinkedHashMap<>();
        for (Map.Entry<String, ObserverSpec.Accumulator> e : acc.entrySet()) {
            double[] r = e.getValue().range(activationBits);
            q.put(e.getKey(), QParams.fromRange(r[0], r[1], activationBits, false));
        }
        return q;
    }

    /** Per-tensor activation parameters: each tensor at its layer's bit width, symmetric or not as the scheme says. */
    public static Map<String, QParams> finish(Map<String, ObserverSpec.Accumulator> acc, Graph g, Scheme scheme) {
        Map<String, QParams> q = new LinkedHashMap<>();
        for (Map.Entry<String, ObserverSpec.Accumulator> e : acc.entrySet()) {
            int bits = scheme.activationBits(g, e.getKey());
            double[] r = e.getValue().range(bits);
            q.put(e.getKey(), scheme.activation(r[0], r[1], bits));
        }
        return q;
    }
}
