package io.zsq.synth;

import io.zsq.core.data.LabeledImages;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Generates one batch of a calibration set, from the batch index alone (so batches are independent). */
public final class Generator {
    private Generator() {}

    /** One generated batch and its final loss by term. */
    public record Batch(int index, int size, float[] images, Map<String, Double> finalLoss, long seed) {}

    /** Progress of one batch: step number and current total loss. */
    @FunctionalInterface
    public interface Progress {
        void step(int step, double loss);
    }

    /**
     * @param g the FP32 graph with its BatchNorm nodes (not folded)
     * @param progress called every 10 steps and at the last, or null
     */
    public static Batch generate(Graph g, SynthConfig cfg, int batchIndex, Progress progress) {
        return generate(g, cfg, batchIndex, progress, null);
    }

    /**
     * {@link #generate(Graph, SynthConfig, int, Progress)} with the objective and its gradient computed by
     * {@code engine} (null: zsq's Vector API engine, {@link BnMatchingLoss}).
     */
    public static Batch generate(Graph g, SynthConfig cfg, int batchIndex, Progress progress, SynthesisLoss engine) {
        if (cfg.method().base() == Method.Base.REAL) {
            throw new IllegalArgumentException("method 'real' reads images: use Generator.real");
        }
        int n = cfg.sizeOf(batchIndex);
        long seed = Seeds.forBatch(cfg.seed(), batchIndex);
        float[] x = Seeds.gaussian(seed, n * Tensor.size(g.inputShape()));
        int channels = g.inputShape()[0], h = g.inputShape()[1], w = g.inputShape()[2], plane = h * w;
        cfg.clamp(x, channels, plane);
        if (cfg.method().base() == Method.Base.GAUSSIAN) {
            return new Batch(batchIndex, n, x, Map.of(), seed);
        }
        SynthesisLoss loss = engine != null ? engine : new BnMatchingLoss(g);
        Objective obj = cfg.objective();
        SplittableRandom aug = new SplittableRandom(seed + 1);
        int first = batchIndex * cfg.batchSize();
        float[] grad = new float[x.length], m = new float[x.length], v = new float[x.length];
        double b1 = 0.9, b2 = 0.999, eps = 1e-8, lr = cfg.learningRate();
        for (int step = 1; step <= cfg.steps(); step++) {
            int dy = obj.jitter() > 0 ? aug.nextInt(-obj.jitter(), obj.jitter() + 1) : 0;
            int dx = obj.jitter() > 0 ? aug.nextInt(-obj.jitter(), obj.jitter() + 1) : 0;
            boolean flip = obj.flip() && aug.nextBoolean();
            double total;
            if (dy == 0 && dx == 0 && !flip) {
                total = loss.lossAndInputGradient(g, x, n, grad, obj, first).total();
            } else {
                float[] xa = augment(x, n * channels, h, w, dy, dx, flip, false);
                total = loss.lossAndInputGradient(g, xa, n, grad, obj, first).total();
                System.arraycopy(augment(grad, n * channels, h, w, dy, dx, flip, true), 0, grad, 0, grad.length);
            }
            double c1 = 1 - Math.pow(b1, step), c2 = 1 - Math.pow(b2, step);
            for (int i = 0; i < x.length; i++) {
                m[i] = (float) (b1 * m[i] + (1 - b1) * grad[i]);
                v[i] = (float) (b2 * v[i] + (1 - b2) * grad[i] * grad[i]);
                x[i] -= (float) (lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps));
            }
            cfg.clamp(x, channels, plane);
            if (progress != null && (step % 10 == 0 || step == cfg.steps())) {
                progress.step(step, total);
            }
        }
        BnMatchingLoss.Value last = loss.lossAndInputGradient(g, x, n, grad, obj, first);
        return new Batch(batchIndex, n, x, new LinkedHashMap<>(last.terms()), seed);
    }

    /**
     * Roll each plane by (dy, dx) with wrap-around, then flip horizontally if asked; with
     * {@code inverse}, undo that (flip, then roll back): a permutation, so it maps gradients back too.
     */
    static float[] augment(float[] x, int planes, int h, int w, int dy, int dx, boolean flip, boolean inverse) {
        float[] y = new float[x.length];
        for (int p = 0; p < planes; p++) {
            int base = p * h * w;
            for (int r = 0; r < h; r++) {
                for (int c = 0; c < w; c++) {
                    // forward: y[r][c] = x[(r - dy) mod h][col] with col = flip ? (w-1-c - dx) : (c - dx)
                    int sr = Math.floorMod(r - dy, h);
                    int sc = Math.floorMod((flip ? w - 1 - c : c) - dx, w);
                    if (inverse) {
                        y[base + sr * w + sc] = x[base + r * w + c];
                    } else {
                        y[base + r * w + c] = x[base + sr * w + sc];
                    }
                }
            }
        }
        return y;
    }

    /** Batch {@code b} of the real-data upper bound: images {@code [b*batch, ...)} of the training images, preprocessed. */
    public static Batch real(LabeledImages data, Preprocessing pre, SynthConfig cfg, int b) {
        int n = cfg.sizeOf(b);
        if ((long) b * cfg.batchSize() + n > data.count()) {
            throw new IllegalArgumentException("the real dataset has " + data.count() + " images, fewer than --count " + cfg.count());
        }
        return new Batch(b, n, data.batch(b * cfg.batchSize(), n, pre), Map.of(), 0);
    }
}
