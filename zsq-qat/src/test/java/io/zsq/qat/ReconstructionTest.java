package io.zsq.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.quant.ChannelQParams;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.Quantization;
import io.zsq.ptq.pipeline.InProcessExecutor;
import io.zsq.ptq.pipeline.Plan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Block reconstruction on the small model of {@link Nets}: where the blocks are cut, the relaxed rounding's gradient
 * (regularizer included) and a block's gradient through the engine against finite differences, weights that end on
 * the quantization grid, a student closer to the teacher than nearest rounding, the same bits for 1 or N tasks and
 * shipped tasks, and a killed run that resumes to the same bits.
 */
class ReconstructionTest {
    @TempDir
    Path dir;

    static Plan.FineTune settings(int steps, int batch, int micro, int checkpointEvery) {
        return new Plan.FineTune(Plan.QatMethod.RECONSTRUCT, steps, batch, micro, 1e-2, 1e-3, Plan.Optimizer.ADAM, Plan.Schedule.COSINE, 4, 0,
                checkpointEvery, 3);
    }

    static FineTuner.Result run(Plan.FineTune s, io.zsq.ptq.pipeline.Executor ex, Path d) throws IOException {
        return Reconstruction.run(s, FineTunerTest.student(), FineTunerTest.POOL_IMAGES, ex, d, FineTunerTest.QUIET);
    }

    @Test
    void blocksEndWhereEveryPathPassesAndHoldALayer() {
        Student st = FineTunerTest.student();
        List<Reconstruction.Block> blocks = Reconstruction.blocks(st);
        List<List<String>> ops = new ArrayList<>();
        for (Reconstruction.Block b : blocks) {
            ops.add(b.nodes().stream().map(n -> n.op().name()).toList());
        }
        // conv+ReLU | depthwise+ReLU6 and the residual ADD (the ReLU output is read by both) | max pool, grouped conv |
        // average pool, 1x1 conv | global pool, flatten, dense: every block starts where the one before ends
        assertEquals(List.of(List.of("CONV"), List.of("CONV", "ADD"), List.of("MAX_POOL", "CONV"), List.of("AVG_POOL", "CONV"),
                List.of("GLOBAL_AVG_POOL", "FLATTEN", "DENSE")), ops);
        assertEquals(st.graph.input(), blocks.get(0).input());
        for (int i = 1; i < blocks.size(); i++) {
            assertEquals(blocks.get(i - 1).output(), blocks.get(i).input());
        }
        assertEquals(st.graph.output(), blocks.get(blocks.size() - 1).output());
        assertEquals(st.graph.nodes().size(), blocks.stream().mapToInt(b -> b.nodes().size()).sum(), "every node in one block");
        for (Reconstruction.Block b : blocks) {
            for (int pnt : b.points()) {
                String t = st.points.get(pnt);
                assertTrue(b.nodes().stream().anyMatch(n -> n.output().equals(t)), "block learns only the points it produces: " + t);
            }
        }
    }

    @Test
    void theRelaxedRoundingsGradientIsTheFiniteDifferenceOfLossAndRegularizer() {
        Student st = FineTunerTest.student();
        Reconstruction.Block blk = Reconstruction.blocks(st).get(1);
        Reconstruction.Rounding r = new Reconstruction.Rounding(st, blk, st.initial());
        int n = r.size();
        SplittableRandom rnd = new SplittableRandom(5);
        float[] v = r.initial();
        for (int i = 0; i < n; i++) {
            v[i] += (float) rnd.nextGaussian(); // away from the start, where the soft weights are the FP32 ones
        }
        double[] c = new double[n];
        for (int i = 0; i < n; i++) {
            c[i] = rnd.nextDouble(-1, 1);
        }
        for (double beta : new double[] {0, 3, 12}) {
            float[] w = r.soft(v);
            float[] dW = new float[n];
            for (int i = 0; i < n; i++) {
                dW[i] = (float) (2 * c[i] * w[i] / (r.scale[i] * r.scale[i]));
            }
            float[] g = new float[n];
            r.gradient(v, dW, beta, 0.05, g);
            int checked = 0;
            for (int i = 0; i < n && checked < 40; i++) {
                double hr = 1 / (1 + Math.exp(-v[i])) * 1.2 - 0.1, k = r.base[i] + hr;
                if (hr < 0.02 || hr > 0.98 || k < r.qmin[i] + 0.02 || k > r.qmax[i] - 0.02) {
                    continue; // h's clip or the grid's clamp within reach of the step
                }
                double eps = 1e-3;
                double fd = (objective(r, v, i, eps, c, beta) - objective(r, v, i, -eps, c, beta)) / (2 * eps);
                assertEquals(fd, g[i], 1e-3 * Math.max(1, Math.abs(fd)), "weight " + i + " at beta " + beta);
                checked++;
            }
            assertTrue(checked >= 20, "only " + checked + " weights checked");
        }
    }

    /** {@code sum c_i (w_i / s_i)^2} of the soft weights, plus the regularizer, with {@code v[i]} moved by {@code d}. */
    private static double objective(Reconstruction.Rounding r, float[] v0, int i, double d, double[] c, double beta) {
        float[] v = v0.clone();
        double[] vd = new double[v.length];
        for (int j = 0; j < v.length; j++) {
            vd[j] = v[j];
        }
        vd[i] += d;
        double sum = 0, reg = 0;
        for (int j = 0; j < v.length; j++) {
            double h = Reconstruction.Rounding.h(vd[j]);
            double w = Math.max(r.qmin[j], Math.min(r.qmax[j], r.base[j] + h)); // w / s
            sum += c[j] * w * w;
            if (beta > 0) {
                reg += 1 - Math.pow(Math.abs(2 * h - 1), beta);
            }
        }
        return sum + 0.05 * reg;
    }

    @Test
    void aBlocksGradientToItsSoftWeightsIsTheFiniteDifferenceOfItsLoss() {
        Student st = FineTunerTest.student();
        for (int b : new int[] {1, 2, 4}) {
            Reconstruction.Block blk = Reconstruction.blocks(st).get(b);
            float[] p = st.initial();
            Reconstruction.Rounding r = new Reconstruction.Rounding(st, blk, p);
            float[] v = r.initial();
            SplittableRandom rnd = new SplittableRandom(b);
            for (int i = 0; i < v.length; i++) {
                v[i] += (float) rnd.nextGaussian();
            }
            // the block's inputs and targets: the teacher's activations, perturbed for the targets
            Fp32Engine.Trace tr = Fp32Engine.forward(st.graph, FineTunerTest.POOL_IMAGES.images(), FineTunerTest.POOL, null);
            float[] in = tr.nchw(st.graph, blk.input()).clone();
            float[] target = tr.get(blk.output()).clone();
            for (int i = 0; i < target.length; i++) {
                target[i] += (float) (0.3 * rnd.nextGaussian());
            }
            Reconstruction.Data data = new Reconstruction.Data(in, target, in.length / FineTunerTest.POOL, target.length / FineTunerTest.POOL);
            int[] images = {0, 3, 5, 8, 13, 21};
            // no activation quantization: the loss is smooth in the weights but for ReLU kinks, which h/2 against h detects
            Quantization full = st.quantization(p);
            Quantization weightsOnly = new Quantization(full.scheme(), Map.of(), full.weights(), full.bnRanged());
            FineTuner.Grad g = Reconstruction.microBatch(st, data, model(st, blk, p, r, v, weightsOnly), images, images.length);
            float[] dv = new float[r.size()];
            r.gradient(v, g.g(), 0, 0, dv);
            int smooth = 0;
            for (int dirn = 0; dirn < 12 && smooth < 4; dirn++) {
                float[] u = new float[v.length];
                double along = 0;
                for (int i = 0; i < u.length; i++) {
                    u[i] = (float) rnd.nextGaussian();
                    along += u[i] * dv[i];
                }
                double f1 = fd(st, blk, p, r, v, u, weightsOnly, data, images, 1e-2), f2 = fd(st, blk, p, r, v, u, weightsOnly, data, images, 5e-3);
                if (Math.abs(f1 - f2) > 1e-3 * Math.max(1, Math.abs(f1))) {
                    continue; // a kink within reach
                }
                assertEquals(f2, along, 2e-3 * Math.max(1, Math.abs(f2)), "block " + b + " direction " + dirn);
                smooth++;
            }
            assertTrue(smooth >= 3, "block " + b + ": only " + smooth + " smooth directions");
        }
    }

    private static Reconstruction.Model model(Student st, Reconstruction.Block blk, float[] p, Reconstruction.Rounding r, float[] v, Quantization q) {
        float[] pk = p.clone();
        float[] w = r.soft(v);
        int at = 0;
        for (int l : blk.layers()) {
            System.arraycopy(w, at, pk, st.wOff[l], st.wLen[l]);
            at += st.wLen[l];
        }
        return new Reconstruction.Model(Reconstruction.blockGraph(st, blk, pk), q, blk);
    }

    private static double fd(Student st, Reconstruction.Block blk, float[] p, Reconstruction.Rounding r, float[] v, float[] u, Quantization q,
                             Reconstruction.Data data, int[] images, double h) {
        float[] plus = v.clone(), minus = v.clone();
        for (int i = 0; i < v.length; i++) {
            plus[i] += (float) (h * u[i]);
            minus[i] -= (float) (h * u[i]);
        }
        double a = Reconstruction.microBatch(st, data, model(st, blk, p, r, plus, q), images, images.length).loss() / images.length;
        double b = Reconstruction.microBatch(st, data, model(st, blk, p, r, minus, q), images, images.length).loss() / images.length;
        return (a - b) / (2 * h);
    }

    @Test
    void theReconstructedWeightsAreOnTheGridAndTheStudentIsCloserToTheTeacherThanNearestRounding() throws IOException {
        Student st = FineTunerTest.student();
        FineTuner.Result r = run(settings(60, 8, 4, 0), new InProcessExecutor(2), null);
        Graph g = st.fp32Graph(r.params());
        Quantization q = st.quantization(r.params());
        int changed = 0;
        for (Node n : g.nodes()) {
            ChannelQParams wq = q.weights().get(n.id());
            if (wq != null) {
                float[] w = n.param("W").data();
                assertTrue(Nets.sameBits(w, wq.fakeQuantize(w)), n.id() + ": weights on the grid, as lowering will quantize them");
                float[] nearest = wq.fakeQuantize(st.graph.producer(n.output()).param("W").data());
                for (int i = 0; i < w.length; i++) {
                    changed += w[i] != nearest[i] ? 1 : 0;
                }
            }
        }
        assertTrue(changed > 0, "some weights rounded the other way");
        assertTrue(r.finalLoss() < r.initialLoss(), "summed block losses: learned " + r.finalLoss() + " vs nearest rounding " + r.initialLoss());
        // the whole student's logits, as FakeQuant simulates the lowered model, against the teacher's on the pool
        float[] x = FineTunerTest.POOL_IMAGES.images();
        float[] teacher = Fp32Engine.run(st.graph, x, FineTunerTest.POOL);
        double before = mse(FakeQuant.of(st.graph, st.quantization(st.initial())).run(x, FineTunerTest.POOL), teacher);
        double after = mse(FakeQuant.of(g, q).run(x, FineTunerTest.POOL), teacher);
        assertTrue(after < before, "logits' squared error to the teacher: reconstructed " + after + ", Level 1 " + before);
    }

    private static double mse(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (a[i] - b[i]) * (a[i] - b[i]);
        }
        return s / a.length;
    }

    @Test
    void oneOrManyTasksAtOnceAndShippedTasksGiveTheSameBits() throws IOException {
        Plan.FineTune s = settings(4, 8, 2, 0);
        float[] one = run(s, new InProcessExecutor(1), null).params();
        float[] three = run(s, new InProcessExecutor(3), null).params();
        assertTrue(Nets.sameBits(one, three), "1 vs 3 threads: first difference at " + Nets.firstDifference(one, three));
        float[] shipped = run(s, new FineTunerTest.Shipping(), null).params();
        assertTrue(Nets.sameBits(one, shipped), "shipped and run last to first: first difference at " + Nets.firstDifference(one, shipped));
        float[] other = Reconstruction.run(new Plan.FineTune(s.method(), s.steps(), s.batch(), s.microBatch(), s.lr(), s.scaleLr(), s.optimizer(),
                s.schedule(), s.temperature(), s.featureWeight(), 0, 4), FineTunerTest.student(), FineTunerTest.POOL_IMAGES,
                new InProcessExecutor(1), null, FineTunerTest.QUIET).params();
        assertFalse(Nets.sameBits(one, other), "another seed draws other batches");
    }

    @ParameterizedTest(name = "killed after {0} reductions")
    @ValueSource(ints = {3, 8, 15})
    void aKilledRunResumesAfterItsLastFinishedBlockToTheSameBits(int killedAfter) throws IOException {
        Plan.FineTune s = settings(4, 8, 4, 1);
        FineTuner.Result whole = run(s, new InProcessExecutor(2), dir.resolve("whole"));
        Path d = dir.resolve("killed");
        // each block reduces 1 + 4 + 1 times (its loss before, its steps, its loss after)
        IOException e = assertThrows(IOException.class, () -> run(s, new CheckpointTest.KilledAfter(killedAfter), d));
        assertEquals("killed", e.getMessage());
        int finished = killedAfter / 6;
        assertEquals(finished > 0, Files.exists(d.resolve("checkpoint.bin")));
        FineTuner.Result resumed = run(s, new InProcessExecutor(1), d);
        assertEquals(finished * s.steps(), resumed.resumed());
        assertTrue(Nets.sameBits(whole.params(), resumed.params()), "first difference at " + Nets.firstDifference(whole.params(), resumed.params()));
        assertEquals(whole.curve(), resumed.curve());
        assertEquals(whole.initialLoss(), resumed.initialLoss(), 0.0);
        assertEquals(whole.finalLoss(), resumed.finalLoss(), 0.0);
        try (var files = Files.list(d)) {
            assertEquals(List.of("checkpoint.bin"), files.map(f -> f.getFileName().toString()).toList());
        }
    }
}
