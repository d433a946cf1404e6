package io.zsq.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Synthesis runs its graph with each ReLU/clip after a BatchNorm applied by the BatchNorm node
 * ({@link Fp32Engine#fuseActivationsIntoBatchNorm}): the output and the input gradient (seeded at every
 * BN input and at the output, as the matching loss seeds them) are bit for bit those of the graph as
 * imported, on scalar channel counts and on whole vectors.
 */
class FusedBatchNormTest {

    @Test
    void fusedActivationsGiveTheBitsOfTheSeparateNodes() {
        for (Graph g : List.of(RandomGraphs.small(41), RandomGraphs.wide(42))) {
            Graph f = Fp32Engine.fuseActivationsIntoBatchNorm(g);
            long acts = g.nodes().stream().filter(n -> n.op() == OpType.RELU || n.op() == OpType.CLIP).count();
            assertEquals(g.nodes().size() - acts, f.nodes().size(), "every activation after a BatchNorm fused");
            int batch = 3;
            float[] x = Seeds.gaussian(43, batch * Tensor.size(g.inputShape()));
            Fp32Engine.Trace tg = Fp32Engine.forward(g, x, batch, null), tf = Fp32Engine.forward(f, x, batch, null);
            assertArrayEquals(tg.get(g.output()), tf.get(f.output()), "output");
            Map<String, float[]> seeds = new HashMap<>();
            long s = 44;
            for (Node n : g.nodes()) {
                if (n.op() == OpType.BATCH_NORM) {
                    seeds.put(n.input(), Seeds.gaussian(s++, tg.get(n.input()).length));
                }
            }
            seeds.put(g.output(), Seeds.gaussian(s, tg.get(g.output()).length));
            assertArrayEquals(Fp32Engine.backward(g, tg, seeds), Fp32Engine.backward(f, tf, seeds), "input gradient");
        }
    }
}
