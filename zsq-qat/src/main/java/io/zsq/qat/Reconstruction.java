package io.zsq.qat;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.exec.ParameterGradients;
import io.zsq.core.exec.Workspace;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import io.zsq.core.quant.ChannelQParams;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.Quantization;
import io.zsq.ptq.pipeline.Executor;
import io.zsq.ptq.pipeline.Plan;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Level 2 by block reconstruction (BRECQ, Li et al. 2021, with AdaRound's learned rounding, Nagel et al.
 * 2020), on the synthetic pool as Genie (Jeon et al. 2023) does: the student is rebuilt one block at a time,
 * in graph order, so that the quantized block, fed what the already-rebuilt quantized blocks before it
 * give, reproduces what the FP32 block gives on the FP32 activations. A block ends at every tensor
 * through which all of the graph passes (a residual block's output; each layer of a chain), so residual
 * branches are rebuilt together.
 *
 * <p>Per block, learned: each weight's rounding (up or down from {@code floor(W / s)}), relaxed to
 * {@code h(V) = clip(sigmoid(V) * 1.2 - 0.1, 0, 1)} and pushed to 0 or 1 by AdaRound's regularizer
 * {@code lambda * sum(1 - |2h - 1|^beta)} (no regularizer for the first 20% of the steps, then beta from 20
 * down to 2); and the step sizes of the block's activation points (LSQ, in the log domain as in
 * {@link Optimizer}). Weight step sizes, zero points and biases stay Level 1's. The loss is the squared
 * error summed over channels, averaged over images and positions (BRECQ's). After its steps a block's
 * rounding is made hard ({@code V >= 0} rounds up): the weights become exactly {@code s * k}, which
 * lowering quantizes back to {@code k}, so the integer model equals the reconstructed simulation.
 *
 * <p>Every step is data parallel as {@link FineTuner}'s: micro-batches are tasks over a shared copy of
 * the block's inputs and targets, their gradient sums merged in order. A checkpoint after each block
 * holds the rebuilt parameters; a resumed run recomputes the activations of the blocks it skips. The
 * result's initial and final losses are the blocks' losses (on the first 256 pool images) summed, with
 * Level 1's nearest rounding and with the learned rounding and step sizes; its curve is the training
 * loss (relaxed rounding), block after block.
 */
public final class Reconstruction {
    private Reconstruction() {}

    /** AdaRound's stretch of the sigmoid, its regularizer's exponents and warm-up, and the regularizer's weight as BRECQ sets it. */
    static final double ZETA = 1.1, GAMMA = -0.1, BETA_START = 20, BETA_END = 2, WARMUP = 0.2, ROUND_WEIGHT = 0.01;

    /** One block: the nodes from {@code input} (exclusive) to {@code output}, its layers and the activation points it learns. */
    record Block(String input, String output, List<Node> nodes, List<Integer> layers, List<Integer> points) implements Serializable {}

    /**
     * The student's blocks: the graph cut after every node whose output is the only tensor still to be
     * read (every path passes it), a cut taken only once the block holds a layer; trailing nodes without a
     * layer join the last block.
     */
    static List<Block> blocks(Student st) {
        Graph g = st.graph;
        List<Node> nodes = g.nodes();
        Map<String, Integer> lastUse = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (String in : nodes.get(i).inputs()) {
                lastUse.put(in, i);
            }
        }
        List<Block> out = new ArrayList<>();
        Set<String> live = new HashSet<>();
        live.add(g.input());
        int start = 0;
        String in = g.input();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            live.add(n.output());
            final int at = i;
            live.removeIf(t -> !t.equals(g.output()) && lastUse.getOrDefault(t, -1) <= at && !t.equals(n.output()));
            boolean cut = live.size() == 1 && (lastUse.getOrDefault(n.output(), -1) > i || n.output().equals(g.output()));
            if (cut && hasLayer(nodes.subList(start, i + 1))) {
                out.add(block(st, in, n.output(), nodes.subList(start, i + 1)));
                start = i + 1;
                in = n.output();
            }
        }
        if (start < nodes.size()) { // nodes after the last layer (the last node cuts once there is a layer)
            List<Node> rest = nodes.subList(start, nodes.size());
            if (out.isEmpty()) {
                out.add(block(st, in, g.output(), rest));
            } else {
                Block last = out.remove(out.size() - 1);
                List<Node> merged = new ArrayList<>(last.nodes());
                merged.addAll(rest);
                out.add(block(st, last.input(), g.output(), merged));
            }
        }
        return out;
    }

    private static boolean hasLayer(List<Node> nodes) {
        return nodes.stream().anyMatch(n -> n.op() == OpType.CONV || n.op() == OpType.DENSE);
    }

    private static Block block(Student st, String input, String output, List<Node> nodes) {
        List<Integer> layers = new ArrayList<>(), points = new ArrayList<>();
        for (Node n : nodes) {
            Integer l = st.layerIndex.get(n.id());
            if (l != null) {
                layers.add(l);
            }
            Integer p = st.pointIndex.get(n.output());
            if (p != null) {
                points.add(p);
            }
        }
        return new Block(input, output, List.copyOf(nodes), layers, points);
    }

    /** What every task of a block reads, shared once per block: its inputs (NCHW) and targets (as stored) for the whole pool. */
    record Data(float[] inputs, float[] targets, int perIn, int perOut) implements Serializable {}

    /**
     * A block's graph as one step runs it (weights soft, or on the grid), the quantization it runs with, and the
     * student's indices of its layers and learned activation points; shared once per step.
     */
    record Model(Graph graph, Quantization q, List<Integer> layers, List<Integer> points) implements Serializable {
        Model(Graph graph, Quantization q, Block blk) {
            this(graph, q, blk == null ? List.of() : blk.layers(), blk == null ? List.of() : blk.points());
        }
    }

    /** A forward-only task: pool images [from, to) through a block's graph. */
    record Range(int from, int to) implements Serializable {}

    /** A block's output over the pool, in the layout the next block reads (NCHW) and as stored (NHWC); either may be null (not kept). */
    record Outputs(float[] nchw, float[] stored) implements Serializable {}

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    /** Rebuilds every block in order; returns the student's parameter vector with the learned roundings and step sizes. */
    public static FineTuner.Result run(Plan.FineTune s, Student st, FineTuner.Pool pool, Executor ex, Path dir, PrintStream log) throws IOException {
        List<Block> blocks = blocks(st);
        float[] p = st.initial();
        // the blocks are part of what a checkpoint belongs to: a checkpoint cut elsewhere is not resumed
        String signature = Checkpoint.signature(s, p, pool, blocks.stream().map(Block::output).toList().toString());
        int n = pool.count();
        float[] teacherIn = pool.images(), studentIn = pool.images();
        List<List<Double>> curve = new ArrayList<>();
        double initialLoss = 0, finalLoss = 0;
        Checkpoint.Blocks saved = dir == null ? null : Checkpoint.readBlocks(dir, signature, p.length);
        int done = 0;
        if (saved != null) {
            System.arraycopy(saved.params(), 0, p, 0, p.length);
            curve.addAll(saved.curve());
            done = saved.blocks();
            initialLoss = saved.initialLoss();
            finalLoss = saved.finalLoss();
            log.printf("zsq: reconstruct: resumed from %s after block %d of %d%n", Checkpoint.file(dir), done, blocks.size());
        }
        Graph fp32 = st.graph;
        Executor.Shared<Student> student = ex.share(st);
        long t0 = System.nanoTime();
        List<Double> stepSeconds = new ArrayList<>();
        for (int b = 0; b < blocks.size(); b++) {
            Block blk = blocks.get(b);
            Graph teacher = subgraph(fp32, blk, blk.nodes());
            Outputs target = forward(ex, teacher, null, student, teacherIn, n, true);
            if (b >= done) {
                Data data = new Data(studentIn, target.stored(), Tensor.size(fp32.shape(blk.input())), Tensor.size(fp32.shape(blk.output())));
                double[] losses = block(s, st, student, blk, b, blocks.size(), p, data, ex, log, curve, stepSeconds);
                initialLoss += losses[0];
                finalLoss += losses[1];
                if (dir != null && s.checkpointEvery() > 0) {
                    Checkpoint.writeBlocks(dir, signature, p, b + 1, curve, initialLoss, finalLoss);
                }
            }
            studentIn = forward(ex, blockGraph(st, blk, p), st.quantization(p), student, studentIn, n, false).nchw();
            teacherIn = target.nchw();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        int k = stepSeconds.size();
        return new FineTuner.Result(p, initialLoss, finalLoss, curve, done * s.steps(), seconds, k == 0 ? 0 : seconds / k,
                FineTuner.median(stepSeconds));
    }

    /**
     * {@code s.steps()} steps on one block; leaves the hard rounding and the learned step sizes in {@code p}.
     * Returns the block's loss on the first (up to) 256 images with Level 1's weights (nearest rounding)
     * and step sizes, then with the learned ones.
     */
    private static double[] block(Plan.FineTune s, Student st, Executor.Shared<Student> student, Block blk, int b, int of, float[] p, Data data,
                                  Executor ex, PrintStream log, List<List<Double>> curve, List<Double> stepSeconds) throws IOException {
        Rounding rounding = new Rounding(st, blk, p);
        int weights = rounding.size();
        int size = weights + blk.points().size();
        float[] v = new float[size];
        System.arraycopy(rounding.initial(), 0, v, 0, weights);
        boolean[] isScale = new boolean[size];
        for (int j = 0; j < blk.points().size(); j++) {
            v[weights + j] = p[st.aOff + blk.points().get(j)];
            isScale[weights + j] = true;
        }
        Optimizer opt = new Optimizer(s, v, isScale);
        Executor.Shared<Data> shared = ex.share(data);
        int count = data.inputs().length / data.perIn();
        double before = loss(ex, student, shared, st, blk, with(st, blk, p, rounding.nearest(), v, weights, false), count, s.microBatch());
        int every = Math.max(1, s.steps() / 10);
        double since = 0;
        int sinceSteps = 0;
        for (int k = 0; k < s.steps(); k++) {
            long ts = System.nanoTime();
            float[] pk = with(st, blk, p, rounding.soft(v), v, weights, true);
            Executor.Shared<Model> model = ex.share(new Model(blockGraph(st, blk, pk), st.quantization(pk), blk));
            List<int[]> items = new ArrayList<>();
            long slot0 = (long) k * s.batch();
            for (int m0 = 0; m0 < s.batch(); m0 += s.microBatch()) {
                int[] img = new int[s.microBatch()];
                for (int i = 0; i < img.length; i++) {
                    long slot = slot0 + m0 + i;
                    img[i] = FineTuner.permutation(s.seed() + 7919L * (b + 1), (int) (slot / count), count)[(int) (slot % count)];
                }
                items.add(img);
            }
            FineTuner.Grad g = ex.reduce("reconstruct block " + (b + 1), items,
                    img -> microBatch(student.get(), shared.get(), model.get(), img, s.batch()), Reconstruction::add);
            float[] grad = new float[size];
            rounding.gradient(v, g.g(), beta(k, s.steps()), ROUND_WEIGHT, grad);
            System.arraycopy(g.g(), weights, grad, weights, blk.points().size());
            opt.step(v, grad);
            stepSeconds.add((System.nanoTime() - ts) / 1e9);
            since += g.loss() / s.batch();
            sinceSteps++;
            if ((k + 1) % every == 0 || k + 1 == s.steps()) {
                curve.add(List.of((double) (b * s.steps() + k + 1), since / sinceSteps));
                since = 0;
                sinceSteps = 0;
            }
        }
        float[] learned = with(st, blk, p, rounding.hard(v), v, weights, true);
        System.arraycopy(learned, 0, p, 0, p.length);
        double after = loss(ex, student, shared, st, blk, p, count, s.microBatch());
        log.printf("zsq: reconstruct block %d/%d (%s .. %s, %d weights): loss %.5f with nearest rounding, %.5f learned%n", b + 1, of,
                blk.input(), blk.output(), weights, before, after);
        return new double[] {before, after};
    }

    private static FineTuner.Grad add(FineTuner.Grad x, FineTuner.Grad y) {
        for (int i = 0; i < x.g().length; i++) {
            x.g()[i] += y.g()[i];
        }
        return new FineTuner.Grad(x.g(), x.loss() + y.loss());
    }

    /** {@code p} with the block's weights {@code w} and, when {@code learnedScales}, its activation step sizes from {@code v}. */
    private static float[] with(Student st, Block blk, float[] p, float[] w, float[] v, int weights, boolean learnedScales) {
        float[] q = p.clone();
        writeWeights(st, blk, w, q);
        if (learnedScales) {
            for (int j = 0; j < blk.points().size(); j++) {
                q[st.aOff + blk.points().get(j)] = v[weights + j];
            }
        }
        return q;
    }

    /** The block's mean loss over the first (up to) 256 of its images with the parameters {@code p} (weights on the grid). */
    private static double loss(Executor ex, Executor.Shared<Student> student, Executor.Shared<Data> data, Student st, Block blk, float[] p, int count,
                               int micro) throws IOException {
        int n = Math.min(256, count);
        List<int[]> items = new ArrayList<>();
        for (int i = 0; i < n; i += micro) {
            items.add(IntStream.range(i, Math.min(n, i + micro)).toArray());
        }
        Executor.Shared<Model> model = ex.share(new Model(blockGraph(st, blk, p), st.quantization(p), blk));
        return ex.reduce("reconstruct: loss", items, img -> microBatch(student.get(), data.get(), model.get(), img, n), Reconstruction::add).loss() / n;
    }

    /** The regularizer's exponent at step {@code k}; 0 (no regularizer) in the warm-up. */
    static double beta(int k, int steps) {
        double warm = WARMUP * steps;
        if (k < warm) {
            return 0;
        }
        double t = (k - warm) / Math.max(1, steps - warm);
        return BETA_END + (BETA_START - BETA_END) * Math.max(0, 1 - t);
    }

    /**
     * AdaRound's relaxed rounding of a block's weights, in the order of its layers: weight {@code i} is
     * {@code scale[i] * clamp(base[i] + h(V[i]), qmin, qmax)}, {@code base = floor(W / scale)}, with
     * {@code h(V) = clip(sigmoid(V) * (ZETA - GAMMA) + GAMMA, 0, 1)}.
     */
    static final class Rounding {
        final float[] w, base, scale;
        final int[] qmin, qmax;

        Rounding(Student st, Block blk, float[] p) {
            int n = 0;
            for (int l : blk.layers()) {
                n += st.wLen[l];
            }
            w = new float[n];
            base = new float[n];
            scale = new float[n];
            qmin = new int[n];
            qmax = new int[n];
            int at = 0;
            for (int l : blk.layers()) {
                ChannelQParams wq = st.init.weights().get(st.layers.get(l));
                int per = st.wLen[l] / st.outC[l];
                for (int i = 0; i < st.wLen[l]; i++, at++) {
                    w[at] = p[st.wOff[l] + i];
                    scale[at] = wq.scales()[i / per];
                    base[at] = (float) Math.floor(w[at] / scale[at]);
                    qmin[at] = wq.qmin();
                    qmax[at] = wq.qmax();
                }
            }
        }

        int size() {
            return w.length;
        }

        /** V where h(V) is the weight's fractional part, so that the soft weights start as the FP32 ones (AdaRound's start). */
        float[] initial() {
            float[] v = new float[w.length];
            for (int i = 0; i < v.length; i++) {
                double rest = Math.min(Math.max((double) w[i] / scale[i] - base[i], 0), 1 - 1e-6);
                v[i] = (float) -Math.log((ZETA - GAMMA) / (rest - GAMMA) - 1);
            }
            return v;
        }

        static double h(double v) {
            return Math.max(0, Math.min(1, 1 / (1 + Math.exp(-v)) * (ZETA - GAMMA) + GAMMA));
        }

        float[] soft(float[] v) {
            float[] r = new float[w.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = scale[i] * (float) Math.max(qmin[i], Math.min(qmax[i], base[i] + h(v[i])));
            }
            return r;
        }

        /** The rounding made hard: up where {@code h(V) >= 1/2}, that is {@code V >= 0}; every weight is {@code scale * k}. */
        float[] hard(float[] v) {
            float[] r = new float[w.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = scale[i] * (float) Math.max(qmin[i], Math.min(qmax[i], base[i] + (v[i] >= 0 ? 1 : 0)));
            }
            return r;
        }

        /** Level 1's weights: round to nearest (ties to even, as {@code ChannelQParams}), clamped. */
        float[] nearest() {
            float[] r = new float[w.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = scale[i] * (float) Math.max(qmin[i], Math.min(qmax[i], Math.rint(w[i] / scale[i])));
            }
            return r;
        }

        /**
         * Into {@code into[0..size)}: d(loss + regularizer)/dV, the regularizer {@code lambda * sum(1 - |2h - 1|^beta)}
         * (none when {@code beta} is 0), from {@code dW}, the loss's gradient to the soft weights (zero where the
         * clamp or h's clip is active).
         */
        void gradient(float[] v, float[] dW, double beta, double lambda, float[] into) {
            for (int i = 0; i < w.length; i++) {
                double sig = 1 / (1 + Math.exp(-v[i]));
                double hr = sig * (ZETA - GAMMA) + GAMMA;
                double dh = hr <= 0 || hr >= 1 ? 0 : sig * (1 - sig) * (ZETA - GAMMA);
                double h = Math.max(0, Math.min(1, hr));
                double k = base[i] + h;
                double d = k < qmin[i] || k > qmax[i] ? 0 : dW[i] * scale[i] * dh;
                if (beta > 0) {
                    double u = 2 * h - 1;
                    d += lambda * -beta * Math.pow(Math.abs(u), beta - 1) * Math.signum(u) * 2 * dh;
                }
                into[i] = (float) d;
            }
        }
    }

    private static void writeWeights(Student st, Block blk, float[] w, float[] p) {
        int at = 0;
        for (int l : blk.layers()) {
            System.arraycopy(w, at, p, st.wOff[l], st.wLen[l]);
            at += st.wLen[l];
        }
    }

    /**
     * The block's graph with the weights of {@code p} used as they are (soft, or already on the grid: not
     * quantized again) and the biases as lowering quantizes them (int32, {@code FakeQuant.simulatedBias}).
     */
    static Graph blockGraph(Student st, Block blk, float[] p) {
        Quantization q = st.quantization(p);
        Graph fp32 = st.fp32Graph(p);
        Map<String, Node> byId = new HashMap<>();
        for (Node n : fp32.nodes()) {
            byId.put(n.id(), n);
        }
        List<Node> nodes = new ArrayList<>();
        for (Node orig : blk.nodes()) {
            Node n = byId.get(orig.id());
            if (!st.layerIndex.containsKey(n.id())) {
                nodes.add(n);
                continue;
            }
            ChannelQParams wq = q.weights().get(n.id());
            float[] bias = FakeQuant.simulatedBias(n, wq, q.tensor(n.input()));
            Map<String, Tensor> params = new LinkedHashMap<>(n.params());
            params.put("B", new Tensor(new int[] {bias.length}, bias));
            nodes.add(n.withParams(params));
        }
        return subgraph(fp32, blk, nodes);
    }

    private static Graph subgraph(Graph g, Block blk, List<Node> nodes) {
        return Graph.of(blk.input(), g.shape(blk.input()), blk.output(), nodes, g.properties(), Map.of());
    }

    /** One task: the quantized block on a micro-batch of its inputs, the squared error to the targets and its gradient. */
    static FineTuner.Grad microBatch(Student st, Data d, Model m, int[] images, int batch) {
        Workspace ws = WORKSPACE.get();
        int n = images.length;
        float[] x = new float[n * d.perIn()];
        float[] t = new float[n * d.perOut()];
        for (int i = 0; i < n; i++) {
            System.arraycopy(d.inputs(), images[i] * d.perIn(), x, i * d.perIn(), d.perIn());
            System.arraycopy(d.targets(), images[i] * d.perOut(), t, i * d.perOut(), d.perOut());
        }
        Graph g = m.graph();
        Student.Quantizer quantizer = st.new Quantizer(m.q(), ws);
        ws.forgetParameters(); // the block's weights are new arrays every step
        Fp32Engine.Trace tr = Fp32Engine.forward(g, x, n, quantizer, ws);
        float[] y = tr.get(g.output());
        int[] shape = g.shape(g.output());
        int positions = shape.length == 3 ? shape[1] * shape[2] : 1;
        double norm = 1.0 / ((double) batch * positions);
        float[] seed = new float[y.length];
        double loss = 0;
        for (int i = 0; i < y.length; i++) {
            double e = (double) y[i] - t[i];
            loss += e * e;
            seed[i] = (float) (2 * e * norm);
        }
        loss /= positions;
        ParameterGradients pg = new ParameterGradients();
        Fp32Engine.backwardToParameters(g, tr, Map.of(g.output(), seed), quantizer, pg, ws);
        int weights = 0;
        for (int l : m.layers()) {
            weights += st.wLen[l];
        }
        float[] grad = new float[weights + m.points().size()];
        int at = 0;
        for (int l : m.layers()) {
            float[] gw = pg.weight(st.layers.get(l));
            if (gw != null) {
                System.arraycopy(gw, 0, grad, at, st.wLen[l]);
            }
            at += st.wLen[l];
        }
        for (int j = 0; j < m.points().size(); j++) {
            grad[weights + j] = (float) quantizer.ds[m.points().get(j)];
        }
        ws.recycle();
        return new FineTuner.Grad(grad, loss);
    }

    /**
     * A block's graph (quantized with {@code q}, or FP32 when null) over all {@code n} inputs, in tasks of 64
     * images: its output NCHW, and as stored too when {@code stored}.
     */
    private static Outputs forward(Executor ex, Graph g, Quantization q, Executor.Shared<Student> st, float[] inputs, int n, boolean stored)
            throws IOException {
        int perIn = Tensor.size(g.inputShape()), perOut = Tensor.size(g.shape(g.output()));
        if ((long) n * perOut > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("--qat-method reconstruct keeps every block's output for the whole pool: " + n + " images of "
                    + Arrays.toString(g.shape(g.output())) + " (" + g.output() + ") exceed 2^31 values; use a smaller pool (--count)");
        }
        List<Range> items = new ArrayList<>();
        for (int i = 0; i < n; i += 64) {
            items.add(new Range(i, Math.min(n, i + 64)));
        }
        Executor.Shared<float[]> in = ex.share(inputs);
        Executor.Shared<Model> model = ex.share(new Model(g, q, null));
        List<Outputs> parts = ex.map("reconstruct: forward", items, r -> {
            Model mm = model.get();
            int k = r.to() - r.from();
            float[] x = Arrays.copyOfRange(in.get(), r.from() * perIn, r.to() * perIn);
            Fp32Engine.Hook hook = mm.q() == null ? null : st.get().new Quantizer(mm.q(), null);
            Fp32Engine.Trace tr = Fp32Engine.forward(mm.graph(), x, k, hook);
            return new Outputs(tr.nchw(mm.graph(), mm.graph().output()).clone(), stored ? tr.get(mm.graph().output()).clone() : null);
        });
        float[] nchw = new float[n * perOut], kept = stored ? new float[n * perOut] : null;
        for (int i = 0; i < parts.size(); i++) {
            System.arraycopy(parts.get(i).nchw(), 0, nchw, items.get(i).from() * perOut, parts.get(i).nchw().length);
            if (stored) {
                System.arraycopy(parts.get(i).stored(), 0, kept, items.get(i).from() * perOut, parts.get(i).stored().length);
            }
        }
        return new Outputs(nchw, kept);
    }
}
