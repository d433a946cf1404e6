package io.zsq.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The optimization loop reuses its arrays from step to step ({@link io.zsq.core.exec.Workspace}): a
 * step taken after others, on arrays that held other values, gives bit for bit what a fresh loss object
 * gives, on every op the engine runs (convolutions of every kernel path, pools, slices, pads,
 * broadcasting arithmetic, tables, concatenation).
 */
class WorkspaceReuseTest {

    @Test
    void aReusedWorkspaceGivesTheBitsOfAFreshOne() {
        for (Graph g : List.of(RandomGraphs.small(21), RandomGraphs.optionA(22), RandomGraphs.squeezeExcite(23))) {
            Objective obj = Objective.of(Method.parse("zeroq+label+di+dsg"));
            int batch = 3, size = batch * Tensor.size(g.inputShape());
            float[] x1 = Seeds.gaussian(31, size), x2 = Seeds.gaussian(32, size);
            BnMatchingLoss reused = new BnMatchingLoss(g);
            float[] g1 = new float[size], g2 = new float[size], again = new float[size], fresh = new float[size];
            double l1 = reused.lossAndInputGradient(g, x1, batch, g1, obj, 0).total();
            reused.lossAndInputGradient(g, x2, batch, g2, obj, 0);
            double l1Again = reused.lossAndInputGradient(g, x1, batch, again, obj, 0).total();
            double l1Fresh = new BnMatchingLoss(g).lossAndInputGradient(g, x1, batch, fresh, obj, 0).total();
            assertEquals(l1Fresh, l1, 0.0);
            assertEquals(l1Fresh, l1Again, 0.0);
            assertArrayEquals(fresh, g1);
            assertArrayEquals(fresh, again);
            assertEquals(false, java.util.Arrays.equals(g1, g2), "two inputs, two gradients");
        }
    }
}
