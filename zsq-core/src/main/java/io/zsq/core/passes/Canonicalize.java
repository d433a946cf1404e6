package io.zsq.core.passes;

import io.zsq.core.ir.Graph;
import java.util.ArrayList;
import java.util.List;

/** BN folding then activation fusion: the FP32 graph that calibration and lowering work on. */
public final class Canonicalize {
    private Canonicalize() {}

    public static Graph run(Graph g, List<String> reports) {
        List<String> r = reports == null ? new ArrayList<>() : reports;
        for (GraphPass p : List.of(new FoldBatchNorm(), new FuseActivations())) {
            GraphPass.Result res = p.apply(g);
            r.add(p.name() + ": " + res.report());
            g = res.graph();
        }
        return g;
    }
}
