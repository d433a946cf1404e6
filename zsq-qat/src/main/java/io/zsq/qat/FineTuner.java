package io.zsq.qat;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.exec.OrtDevice;
import io.zsq.core.exec.ParameterGradients;
import io.zsq.core.exec.Workspace;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Tensor;
import io.zsq.ptq.pipeline.Executor;
import io.zsq.ptq.pipeline.Plan;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The Level-2 loop: distillation of the {@link Student} against the FP32 teacher on a fixed pool of
 * synthetic images, each step a batch drawn from a seeded permutation of the pool (an epoch at a time)
 * with a random crop (zero padding of an eighth of the side) and a horizontal flip per image.
 *
 * <p>Synchronous data parallelism: a step's batch is cut into micro-batches; each is one task of the
 * {@link Executor} (threads here, Spark tasks on a cluster) that reads the step's parameters (shared),
 * runs the teacher and the student and returns its gradient sum; the driver adds them in micro-batch
 * order and takes one optimizer step. What a micro-batch computes depends only on the parameters and its
 * images, and the sums are taken in one order, so 1 and N tasks at once give the same bits.
 */
public final class FineTuner {
    private FineTuner() {}

    /** The images the loop draws from: NCHW, {@code count} of {@code shape}, and the class synthesis assigned each (null: none). */
    public record Pool(float[] images, int count, int[] shape, int[] labels) implements Serializable {
        public Pool {
            if (count < 1 || images.length != (long) count * Tensor.size(shape)) {
                throw new IllegalArgumentException("pool of " + count + " images holds " + images.length + " values");
            }
            if (labels != null && labels.length != count) {
                throw new IllegalArgumentException("pool of " + count + " images has " + labels.length + " labels");
            }
        }

        public Pool(float[] images, int count, int[] shape) {
            this(images, count, shape, null);
        }
    }

    /** What every task reads, shipped once per run. */
    record Context(Graph teacher, Student student, Pool pool, double temperature, double featureWeight, double labelWeight, int batch)
            implements Serializable {}

    /** One micro-batch of one step: which pool images, and each one's crop offset and flip. */
    record Micro(int step, int[] images, int[] dy, int[] dx, boolean[] flip) implements Serializable {}

    /** A micro-batch's gradient sum (the parameter vector's layout) and its summed loss. */
    record Grad(float[] g, double loss, String engine, String fallback) implements Serializable {
        Grad(float[] g, double loss) {
            this(g, loss, null, null);
        }
    }

    /** What a run gives. */
    public record Result(float[] params, double initialLoss, double finalLoss, List<List<Double>> curve, int resumed, double seconds,
                         double secondsPerStep, double medianSecondsPerStep, String engine, String gpuUnavailable) {
        public Result(float[] params, double initialLoss, double finalLoss, List<List<Double>> curve, int resumed, double seconds,
                      double secondsPerStep, double medianSecondsPerStep) {
            this(params, initialLoss, finalLoss, curve, resumed, seconds, secondsPerStep, medianSecondsPerStep, null, null);
        }
    }

    private static final ThreadLocal<Workspace[]> WORKSPACES = ThreadLocal.withInitial(() -> new Workspace[] {new Workspace(), new Workspace()});

    /**
     * Runs {@code s.steps()} steps from {@code start} (Level 1's parameters), resuming from the checkpoint in
     * {@code dir} when it was written by the same settings from the same start.
     */
    public static Result run(Plan.FineTune s, Graph teacher, Student student, Pool pool, Executor ex, Path dir, PrintStream log)
            throws IOException {
        return run(s, teacher, student, pool, ex, dir, log, Plan.Device.CPU);
    }

    /**
     * {@link #run(Plan.FineTune, Graph, Student, Pool, Executor, Path, PrintStream)} with every micro-batch on
     * {@code device}'s engine ({@link OrtMicroBatch} for the GPU and ONNX Runtime's CPU provider); a task that
     * wanted a GPU and has no CUDA provider runs on the CPU engine, and the run says so once.
     */
    public static Result run(Plan.FineTune s, Graph teacher, Student student, Pool pool, Executor ex, Path dir, PrintStream log,
                             Plan.Device device) throws IOException {
        if (s.labelWeight() > 0 && pool.labels() == null) {
            throw new IllegalArgumentException("--qat-label-weight " + s.labelWeight() + " needs a pool with the classes synthesis assigned");
        }
        float[] p = student.initial();
        Optimizer opt = new Optimizer(s, p, student.stepSizeMask());
        String signature = Checkpoint.signature(s, p, pool);
        List<List<Double>> curve = new ArrayList<>();
        int resumed = 0;
        double initialLoss = Double.NaN;
        double since = 0, last = Double.NaN;
        int sinceSteps = 0;
        Checkpoint.State saved = dir == null ? null : Checkpoint.read(dir, signature, p.length, opt);
        if (saved != null) {
            System.arraycopy(saved.params(), 0, p, 0, p.length);
            curve.addAll(saved.curve());
            resumed = opt.steps();
            initialLoss = saved.initialLoss();
            last = saved.lastLoss();
            since = saved.since();
            sinceSteps = saved.sinceSteps();
            log.printf("zsq: fine-tune: resumed from %s at step %d%n", Checkpoint.file(dir), resumed);
        }
        Executor.Shared<Context> ctx = ex.share(new Context(teacher, student, pool, s.temperature(), s.featureWeight(), s.labelWeight(), s.batch()));
        int every = Math.max(1, s.steps() / 100);
        String engine = null, fallback = null;
        long t0 = System.nanoTime();
        List<Double> stepSeconds = new ArrayList<>();
        for (int k = opt.steps(); k < s.steps(); k++) {
            long ts = System.nanoTime();
            List<Micro> items = micros(s, pool, k);
            Executor.Shared<float[]> params = ex.share(p.clone());
            Grad total = ex.reduce("fine-tune", items, m -> step(ctx.get(), params.get(), m, device), (a, b) -> {
                for (int i = 0; i < a.g.length; i++) {
                    a.g[i] += b.g[i];
                }
                return new Grad(a.g, a.loss + b.loss, a.engine != null ? a.engine : b.engine, a.fallback != null ? a.fallback : b.fallback);
            }, device.wantsGpu());
            engine = engine != null ? engine : total.engine;
            if (fallback == null && total.fallback != null) {
                fallback = total.fallback;
                if (device == Plan.Device.GPU) {
                    log.println("zsq: --device gpu: " + fallback + "; fine-tuning on the CPU (zsq's Vector API engine) instead");
                }
            }
            double loss = total.loss / s.batch();
            if (k == 0) {
                initialLoss = loss;
            }
            opt.step(p, total.g);
            stepSeconds.add((System.nanoTime() - ts) / 1e9);
            since += loss;
            sinceSteps++;
            last = loss;
            if ((k + 1) % every == 0 || k + 1 == s.steps()) {
                curve.add(List.of((double) (k + 1), since / sinceSteps));
                log.printf("zsq: fine-tune step %d/%d: loss %.5f%n", k + 1, s.steps(), since / sinceSteps);
                since = 0;
                sinceSteps = 0;
            }
            if (dir != null && s.checkpointEvery() > 0 && ((k + 1) % s.checkpointEvery() == 0) && k + 1 < s.steps()) {
                Checkpoint.write(dir, signature, p, opt, curve, initialLoss, last, since, sinceSteps);
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        int ran = s.steps() - resumed;
        if (dir != null && s.checkpointEvery() > 0) {
            Checkpoint.write(dir, signature, p, opt, curve, initialLoss, last, since, sinceSteps);
        }
        return new Result(p, initialLoss, last, curve, resumed, seconds, ran == 0 ? 0 : seconds / ran, median(stepSeconds), engine, fallback);
    }

    /** The median of the steps' times (0 for none). */
    static double median(List<Double> seconds) {
        List<Double> sorted = new ArrayList<>(seconds);
        java.util.Collections.sort(sorted);
        int k = sorted.size();
        return k == 0 ? 0 : k % 2 == 1 ? sorted.get(k / 2) : (sorted.get(k / 2 - 1) + sorted.get(k / 2)) / 2;
    }

    /** Step {@code k}'s micro-batches: images from the epoch's permutation, crops and flips, all from (seed, k). */
    static List<Micro> micros(Plan.FineTune s, Pool pool, int k) {
        int[] shape = pool.shape();
        int padH = Math.max(1, shape[1] / 8), padW = Math.max(1, shape[2] / 8);
        List<Micro> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(s.seed() * 0x9E3779B97F4A7C15L + k);
        long first = (long) k * s.batch();
        for (int m0 = 0; m0 < s.batch(); m0 += s.microBatch()) {
            int n = s.microBatch();
            int[] img = new int[n], dy = new int[n], dx = new int[n];
            boolean[] flip = new boolean[n];
            for (int i = 0; i < n; i++) {
                long slot = first + m0 + i;
                int epoch = (int) (slot / pool.count());
                img[i] = permutation(s.seed(), epoch, pool.count())[(int) (slot % pool.count())];
                dy[i] = r.nextInt(-padH, padH + 1);
                dx[i] = r.nextInt(-padW, padW + 1);
                flip[i] = r.nextBoolean();
            }
            out.add(new Micro(k, img, dy, dx, flip));
        }
        return out;
    }

    private static final java.util.Map<Long, int[]> PERMUTATIONS = java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, int[]> e) {
            return size() > 4;
        }
    });

    /** The pool order of one epoch (Fisher-Yates from the seed and the epoch). */
    static int[] permutation(long seed, int epoch, int n) {
        return PERMUTATIONS.computeIfAbsent(seed * 1_000_003L + epoch * 31L + n, key -> {
            int[] a = new int[n];
            for (int i = 0; i < n; i++) {
                a[i] = i;
            }
            SplittableRandom r = new SplittableRandom(seed ^ (0xC2B2AE3D27D4EB4FL * (epoch + 1)));
            for (int i = n - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = a[i];
                a[i] = a[j];
                a[j] = t;
            }
            return a;
        });
    }

    /** The augmented NCHW images of a micro-batch: each shifted by (dy, dx) with zeros coming in, then flipped. */
    static float[] images(Pool pool, Micro m) {
        int[] sh = pool.shape();
        int c = sh[0], h = sh[1], w = sh[2], per = c * h * w;
        float[] x = new float[m.images().length * per];
        for (int i = 0; i < m.images().length; i++) {
            int src = m.images()[i] * per, dst = i * per;
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    int sy = y + m.dy()[i];
                    if (sy < 0 || sy >= h) {
                        continue;
                    }
                    for (int xx = 0; xx < w; xx++) {
                        int sx = (m.flip()[i] ? w - 1 - xx : xx) + m.dx()[i];
                        if (sx >= 0 && sx < w) {
                            x[dst + (ch * h + y) * w + xx] = pool.images()[src + (ch * h + sy) * w + sx];
                        }
                    }
                }
            }
        }
        return x;
    }

    /** The ONNX Runtime engine of a task thread, kept while it serves one run (one context) on one device. */
    private static final ThreadLocal<OrtMicroBatch> ORT = new ThreadLocal<>();

    /** A micro-batch on {@code device}'s engine, tagged with the engine that ran it (and why not a GPU, if one was wanted). */
    static Grad step(Context c, float[] p, Micro m, Plan.Device device) {
        OrtDevice d;
        String fallback = null;
        switch (device) {
            case CPU -> d = null;
            case ONNXRUNTIME_CPU -> d = OrtDevice.cpu(1);
            default -> {
                fallback = OrtDevice.cudaUnavailable();
                d = fallback != null ? null : OrtDevice.cuda(gpuIndex());
            }
        }
        if (d == null) {
            Grad g = microBatch(c, p, m);
            return new Grad(g.g(), g.loss(), "cpu", fallback);
        }
        OrtMicroBatch o = ORT.get();
        if (o == null || o.context() != c || !o.device().toString().equals(d.toString())) {
            if (o != null) {
                o.close();
            }
            o = new OrtMicroBatch(c, d);
            ORT.set(o);
        }
        Grad g = o.run(p, m);
        return new Grad(g.g(), g.loss(), d.toString(), null);
    }

    private static int gpuIndex() {
        String a = io.zsq.ptq.pipeline.TaskGpu.address();
        try {
            return a == null ? 0 : Integer.parseInt(a.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the cluster gave this task GPU '" + a + "', which is not a CUDA device index");
        }
    }

    /** One task: the teacher's and the student's logits on the micro-batch, the distillation gradient summed over it. */
    static Grad microBatch(Context c, float[] p, Micro m) {
        Workspace[] ws = WORKSPACES.get();
        Student.Pass pass = c.student().pass(p, ws[1]);
        return microBatch(c, pass, pass.graph(), m);
    }

    /** {@link #microBatch(Context, float[], Micro)} of the student {@code pass} running as graph {@code g} (its weights). */
    static Grad microBatch(Context c, Student.Pass pass, Graph g, Micro m) {
        Workspace[] ws = WORKSPACES.get();
        Workspace teacherWs = ws[0], studentWs = ws[1];
        studentWs.forgetParameters(); // the student's weights are new arrays every step
        int n = m.images().length;
        float[] x = images(c.pool(), m);
        Graph t = c.teacher();
        Fp32Engine.Trace teacherTrace = Fp32Engine.forward(t, x, n, null, teacherWs);
        float[] tl = teacherTrace.nchw(t, t.output());
        Fp32Engine.Trace tr = Fp32Engine.forward(g, x, n, pass.quantizer(), studentWs);
        float[] sl = tr.nchw(g, g.output());
        int k = sl.length / n;
        float[] seed = new float[sl.length];
        double loss = Distillation.lossAndGradient(sl, tl, n, k, c.temperature(), 1.0 / c.batch(), seed);
        if (c.labelWeight() > 0) {
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = c.pool().labels()[m.images()[i]];
            }
            loss += Distillation.crossEntropyAndGradient(sl, labels, n, k, c.labelWeight(), 1.0 / c.batch(), seed);
        }
        Map<String, float[]> seeds = new java.util.HashMap<>();
        seeds.put(g.output(), toStored(seed, g));
        if (c.featureWeight() > 0) {
            Fp32Engine.Trace tt = teacherTrace;
            for (String tensor : c.student().features()) {
                float[] d = new float[tr.get(tensor).length];
                loss += Distillation.featureLossAndGradient(tr.get(tensor), tt.get(tensor), n, c.featureWeight(), 1.0 / c.batch(), d);
                seeds.put(tensor, d);
            }
        }
        ParameterGradients pg = new ParameterGradients();
        Fp32Engine.backwardToParameters(g, tr, seeds, pass.quantizer(), pg, studentWs);
        float[] grad = new float[c.student().size()];
        pass.gradient(pg, grad);
        teacherWs.recycle();
        studentWs.recycle();
        return new Grad(grad, loss);
    }

    /** An output gradient in the engine's stored layout (NHWC); the logits of a classifier are [K] or [K, 1, 1], the same in both. */
    private static float[] toStored(float[] nchw, Graph g) {
        int[] s = g.shape(g.output());
        if (s.length == 1 || (s.length == 3 && s[1] == 1 && s[2] == 1)) {
            return nchw;
        }
        throw new IllegalArgumentException("Level 2 distils a classifier's logits: the output " + g.output() + " has shape "
                + java.util.Arrays.toString(s) + ", not [classes]");
    }
}
