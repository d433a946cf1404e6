package io.zsq.core.passes;

import io.zsq.core.ir.Graph;
import java.util.List;

/** BN folding then activation fusion: the FP32 graph that calibration and lowering work on. */
public final class Canonicalize {
    private Canonicalize() {}

    /** The passes, in order. */
    public static List<Pass<?>> passes() {
        return List.of(new FoldBatchNorm(), new FuseActivations());
    }

    /** Runs {@link #passes()} on {@code g}, recording them in {@code runner} (or a runner of its own when null). */
    public static Graph run(Graph g, PassRunner runner) {
        return (runner == null ? new PassRunner() : runner).runAll(passes(), ModelState.of(g)).graph();
    }
}
