package io.zsq.qat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Tensor;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.Quantization;
import io.zsq.core.quant.Scheme;
import io.zsq.ptq.pipeline.Executor;
import io.zsq.ptq.pipeline.InProcessExecutor;
import io.zsq.ptq.pipeline.Plan;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Level-2 loop on a small random model and a pool of random images: reproducible from its seed, the same bits
 * for 1 and N tasks at once and for tasks shipped as Spark ships them, micro-batches that add up to the batch's
 * gradient, epochs that visit the pool once each, and a distillation loss that goes down.
 */
class FineTunerTest {
    static final Graph TEACHER = Nets.small(21);
    static final int POOL = 24;
    static final FineTuner.Pool POOL_IMAGES = new FineTuner.Pool(Nets.images(31, POOL, Nets.INPUT), POOL, Nets.INPUT);
    static final Quantization LEVEL1 = Nets.level1(TEACHER, Scheme.of(4, 4), POOL_IMAGES.images(), POOL, 1.0);
    static final PrintStream QUIET = new PrintStream(java.io.OutputStream.nullOutputStream());

    static Student student() {
        return new Student(TEACHER, LEVEL1);
    }

    static Plan.FineTune settings(int steps, int batch, int micro, double lr, double scaleLr, int checkpointEvery, long seed) {
        return new Plan.FineTune(Plan.QatMethod.KD, steps, batch, micro, lr, scaleLr, Plan.Optimizer.ADAM, Plan.Schedule.COSINE, 4, 0,
                checkpointEvery, seed);
    }

    static Plan.FineTune small(long seed) {
        return settings(6, 8, 2, 1e-3, 1e-3, 0, seed);
    }

    static FineTuner.Result run(Plan.FineTune s, Executor ex) throws IOException {
        return FineTuner.run(s, TEACHER, student(), POOL_IMAGES, ex, null, QUIET);
    }

    @Test
    void theSameSeedGivesTheSameBitsAndAnotherSeedOthers() throws IOException {
        FineTuner.Result a = run(small(5), new InProcessExecutor(1)), b = run(small(5), new InProcessExecutor(1));
        assertTrue(Nets.sameBits(a.params(), b.params()), "first difference at " + Nets.firstDifference(a.params(), b.params()));
        assertEquals(a.curve(), b.curve());
        assertFalse(Nets.sameBits(student().initial(), a.params()), "six steps move the parameters");
        assertFalse(Nets.sameBits(a.params(), run(small(6), new InProcessExecutor(1)).params()), "the seed picks the images and crops");
        assertEquals(6, a.curve().size(), "one point per step below 100 steps");
        for (int k = 0; k < 6; k++) {
            assertEquals(k + 1, a.curve().get(k).get(0));
            assertTrue(a.curve().get(k).get(1) > 0 && Double.isFinite(a.curve().get(k).get(1)));
        }
        assertEquals(a.curve().get(0).get(1), a.initialLoss(), 0.0, "the first point is the first step's loss");
        assertEquals(a.curve().get(5).get(1), a.finalLoss(), 0.0);
        assertEquals(0, a.resumed());
    }

    /**
     * An executor that treats tasks as Spark does: shared values and every task with its item serialized and read
     * back (nothing reaches a task by reference), results serialized too, and the items run last to first.
     */
    static final class Shipping implements Executor {
        int tasks;

        @SuppressWarnings("unchecked")
        static <T> T roundTrip(T v) throws IOException {
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bo)) {
                out.writeObject(v);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bo.toByteArray()))) {
                return (T) in.readObject();
            } catch (ClassNotFoundException e) {
                throw new IOException(e);
            }
        }

        @Override
        public <I extends Serializable, R extends Serializable> List<R> map(String stage, List<I> items, Task<I, R> task) throws IOException {
            List<R> out = new ArrayList<>(java.util.Collections.nCopies(items.size(), null));
            for (int i = items.size() - 1; i >= 0; i--) {
                Task<I, R> shipped = roundTrip(task);
                try {
                    out.set(i, roundTrip(shipped.apply(roundTrip(items.get(i)))));
                } catch (Exception e) {
                    throw Executor.rethrow(e);
                }
                tasks++;
            }
            return out;
        }

        @Override
        public <T extends Serializable> Shared<T> share(T value) {
            try {
                T copy = roundTrip(value);
                return () -> copy;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public int parallelism() {
            return 4;
        }
    }

    @Test
    void oneOrManyTasksAtOnceAndShippedTasksGiveTheSameBits() throws IOException {
        Plan.FineTune s = small(9);
        float[] one = run(s, new InProcessExecutor(1)).params();
        float[] three = run(s, new InProcessExecutor(3)).params();
        assertTrue(Nets.sameBits(one, three), "1 vs 3 threads: first difference at " + Nets.firstDifference(one, three));
        Shipping ship = new Shipping();
        float[] shipped = run(s, ship).params();
        assertEquals(6 * 4, ship.tasks, "six steps of four micro-batches");
        assertTrue(Nets.sameBits(one, shipped), "shipped and run last to first: first difference at " + Nets.firstDifference(one, shipped));
    }

    @Test
    void microBatchesAddUpToTheBatchGradient() {
        Student st = student();
        float[] p = st.initial();
        FineTuner.Context c = new FineTuner.Context(TEACHER, st, POOL_IMAGES, 4, 0, 0, 8);
        for (int step : new int[] {0, 4}) { // the second within the second epoch
            double[] loss = new double[3];
            List<List<String>> drawn = new ArrayList<>();
            float[][] grad = new float[3][];
            int[] micro = {1, 2, 8};
            for (int v = 0; v < 3; v++) {
                List<FineTuner.Micro> ms = FineTuner.micros(settings(10, 8, micro[v], 1e-3, 1e-3, 0, 3), POOL_IMAGES, step);
                assertEquals(8 / micro[v], ms.size());
                float[] g = new float[st.size()];
                List<String> images = new ArrayList<>();
                for (FineTuner.Micro m : ms) {
                    for (int i = 0; i < m.images().length; i++) {
                        images.add(m.images()[i] + " " + m.dy()[i] + " " + m.dx()[i] + " " + m.flip()[i]);
                    }
                    FineTuner.Grad r = FineTuner.microBatch(c, p, m);
                    for (int i = 0; i < g.length; i++) {
                        g[i] += r.g()[i];
                    }
                    loss[v] += r.loss();
                }
                grad[v] = g;
                drawn.add(images);
            }
            assertEquals(drawn.get(2), drawn.get(0), "the same images, crops and flips however the batch is cut");
            assertEquals(drawn.get(2), drawn.get(1));
            for (int v = 0; v < 2; v++) {
                assertEquals(loss[2], loss[v], 1e-6 * loss[2], "summed loss, micro-batch " + micro[v]);
                double norm = 0, diff = 0;
                for (int i = 0; i < grad[2].length; i++) {
                    norm += (double) grad[2][i] * grad[2][i];
                    diff += Math.pow((double) grad[v][i] - grad[2][i], 2);
                }
                assertTrue(norm > 0);
                assertTrue(Math.sqrt(diff) <= 1e-4 * Math.sqrt(norm), "micro-batch " + micro[v] + " vs whole batch: |diff| " + Math.sqrt(diff)
                        + " of |g| " + Math.sqrt(norm));
            }
        }
    }

    @Test
    void everyEpochVisitsThePoolOnceInItsOwnOrder() {
        Plan.FineTune s = settings(12, 8, 4, 1e-3, 1e-3, 0, 17);
        List<List<Integer>> epochs = new ArrayList<>();
        java.util.Set<String> moves = new java.util.TreeSet<>();
        for (int e = 0; e < 3; e++) {
            List<Integer> seen = new ArrayList<>();
            for (int k = e * 3; k < e * 3 + 3; k++) { // 24 images, 8 a step
                for (FineTuner.Micro m : FineTuner.micros(s, POOL_IMAGES, k)) {
                    for (int i = 0; i < m.images().length; i++) {
                        seen.add(m.images()[i]);
                        assertTrue(Math.abs(m.dy()[i]) <= 1 && Math.abs(m.dx()[i]) <= 1, "shifts of at most max(1, 10 / 8) pixels");
                        moves.add("dy " + m.dy()[i]);
                        moves.add("dx " + m.dx()[i]);
                        moves.add("flip " + m.flip()[i]);
                    }
                }
            }
            List<Integer> sorted = new ArrayList<>(seen);
            java.util.Collections.sort(sorted);
            assertEquals(java.util.stream.IntStream.range(0, POOL).boxed().toList(), sorted, "epoch " + e + " is a permutation of the pool");
            epochs.add(seen);
        }
        assertFalse(epochs.get(0).equals(epochs.get(1)) || epochs.get(1).equals(epochs.get(2)), "each epoch is shuffled anew");
        assertEquals(new java.util.TreeSet<>(List.of("dx -1", "dx 0", "dx 1", "dy -1", "dy 0", "dy 1", "flip false", "flip true")), moves,
                "every shift in [-1, 1] both ways, and both flips, occur in 72 draws");
    }

    @Test
    void augmentationShiftsWithZerosThenFlips() {
        int c = 2, h = 3, w = 4, per = c * h * w;
        float[] img = new float[2 * per];
        for (int i = 0; i < img.length; i++) {
            img[i] = i + 1;
        }
        FineTuner.Pool pool = new FineTuner.Pool(img, 2, new int[] {c, h, w});
        // pool image 1, channel 0, has rows {25..28}, {29..32}, {33..36}
        FineTuner.Micro m = new FineTuner.Micro(0, new int[] {1, 0}, new int[] {1, 0}, new int[] {-1, 2}, new boolean[] {false, true});
        float[] x = FineTuner.images(pool, m);
        // out(y, x) = in(y + dy, x + dx): with dy = 1, dx = -1 the first column and the last row come in as zeros
        assertArrayEquals(new float[] {0, 29, 30, 31, 0, 33, 34, 35, 0, 0, 0, 0}, Arrays.copyOfRange(x, 0, 12), 0f);
        // image 0 shifted by dx = 2 (rows {1..4}: {3, 4, 0, 0}) then flipped ({0, 0, 4, 3})
        assertArrayEquals(new float[] {0, 0, 4, 3, 0, 0, 8, 7, 0, 0, 12, 11}, Arrays.copyOfRange(x, per, per + 12), 0f);
        assertArrayEquals(new float[] {0, 0, 16, 15, 0, 0, 20, 19, 0, 0, 24, 23}, Arrays.copyOfRange(x, per + 12, 2 * per), 0f);
    }

    @Test
    void theLabelTermAddsTheCrossEntropyToEachImagesAssignedClass() {
        Student st = student();
        float[] p = st.initial();
        int[] labels = new int[POOL];
        for (int i = 0; i < POOL; i++) {
            labels[i] = (i * 7 + 3) % 5;
        }
        FineTuner.Pool pool = new FineTuner.Pool(POOL_IMAGES.images(), POOL, Nets.INPUT, labels);
        FineTuner.Micro m = new FineTuner.Micro(0, new int[] {5, 17, 2}, new int[3], new int[3], new boolean[3]);
        double plain = FineTuner.microBatch(new FineTuner.Context(TEACHER, st, pool, 4, 0, 0, 8), p, m).loss();
        double with = FineTuner.microBatch(new FineTuner.Context(TEACHER, st, pool, 4, 0, 0.5, 8), p, m).loss();
        // the student's logits as the lowered model computes them, on the three images unaugmented
        float[] x = FineTuner.images(pool, m);
        float[] z = FakeQuant.of(st.fp32Graph(p), st.quantization(p)).run(x, 3);
        double ce = 0;
        for (int i = 0; i < 3; i++) {
            double sum = 0;
            for (int j = 0; j < 5; j++) {
                sum += Math.exp(z[i * 5 + j]);
            }
            ce -= Math.log(Math.exp(z[i * 5 + labels[m.images()[i]]]) / sum);
        }
        assertEquals(0.5 * ce, with - plain, 1e-4 * (1 + ce), "half the cross-entropy to the pool images' classes");
        assertTrue(ce > 0.1, "the random student is not already certain of them");
    }

    /** KD loss of the fake-quant simulation of {@code p} against the teacher on the whole pool, no augmentation: not what the loop measures. */
    static double poolLoss(Student st, float[] p) {
        FakeQuant.Simulation sim = FakeQuant.of(st.fp32Graph(p), st.quantization(p));
        float[] s = sim.run(POOL_IMAGES.images(), POOL), t = Fp32Engine.run(TEACHER, POOL_IMAGES.images(), POOL);
        return Distillation.lossAndGradient(s, t, POOL, s.length / POOL, 4, 1, new float[s.length]) / POOL;
    }

    @Test
    void distillationBringsTheStudentCloserToTheTeacher() throws IOException {
        Student st = student();
        Plan.FineTune s = settings(40, 8, 4, 2e-3, 2e-3, 0, 1);
        FineTuner.Result r = FineTuner.run(s, TEACHER, st, POOL_IMAGES, new InProcessExecutor(2), null, QUIET);
        double before = poolLoss(st, st.initial()), after = poolLoss(st, r.params());
        assertTrue(before > 0.05, "W4A4 Level 1 is far from the teacher: " + before);
        assertTrue(after < 0.7 * before, "pool loss " + before + " -> " + after);
        // the loop's first loss is the simulation's on step 0's augmented images, divided by the batch
        float[] x = new float[8 * Tensor.size(Nets.INPUT)];
        int at = 0;
        for (FineTuner.Micro m : FineTuner.micros(s, POOL_IMAGES, 0)) {
            float[] xm = FineTuner.images(POOL_IMAGES, m);
            System.arraycopy(xm, 0, x, at, xm.length);
            at += xm.length;
        }
        FakeQuant.Simulation sim = FakeQuant.of(TEACHER, LEVEL1);
        float[] sl = sim.run(x, 8), tl = Fp32Engine.run(TEACHER, x, 8);
        assertEquals(Distillation.lossAndGradient(sl, tl, 8, 5, 4, 1, new float[40]) / 8, r.initialLoss(), 1e-6 * r.initialLoss());
        boolean[] mask = st.stepSizeMask();
        for (int i = 0; i < mask.length; i++) {
            if (mask[i]) {
                assertTrue(r.params()[i] > 0, "step size " + i + " stays positive");
            }
        }
    }

    /** Under per-tensor weight granularity every channel of a layer shares one scale: after training they are still one. */
    @org.junit.jupiter.api.Test
    void sharedWeightScalesStayShared() throws Exception {
        io.zsq.core.quant.Scheme perTensor = new io.zsq.core.quant.Scheme(4, 4, io.zsq.core.quant.Scheme.PER_TENSOR, false, false,
                java.util.Map.of(), java.util.Map.of(), 8);
        Quantization q = Nets.level1(TEACHER, perTensor, POOL_IMAGES.images(), POOL, 1.0);
        Student st = new Student(TEACHER, q);
        FineTuner.Result r = FineTuner.run(settings(6, 8, 4, 1e-3, 1e-2, 0, 1), TEACHER, st, POOL_IMAGES,
                new io.zsq.ptq.pipeline.InProcessExecutor(2), null, QUIET);
        int moved = 0;
        for (java.util.Map.Entry<String, io.zsq.core.quant.ChannelQParams> e : st.quantization(r.params()).weights().entrySet()) {
            float[] sc = e.getValue().scales();
            for (float v : sc) {
                org.junit.jupiter.api.Assertions.assertEquals(sc[0], v, 0f, e.getKey() + " channel scales");
            }
            moved += sc[0] != q.weights().get(e.getKey()).scales()[0] ? 1 : 0;
        }
        org.junit.jupiter.api.Assertions.assertTrue(moved > 0, "the shared scales were learned");
    }
}
