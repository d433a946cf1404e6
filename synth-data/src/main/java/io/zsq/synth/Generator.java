package io.zsq.synth;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Tensor;
import java.util.Map;
import java.util.function.IntConsumer;

/** Generates one batch of a synthetic set, from the batch index alone (so batches are independent). */
public final class Generator {
    private Generator() {}

    /** One generated batch and its final BN-matching loss per layer. */
    public record Batch(int index, int size, float[] images, Map<String, Double> finalLoss, long seed) {}

    /**
     * @param g the FP32 graph with its BatchNorm nodes (not folded)
     * @param progress called with the step number every few steps, or null
     */
    public static Batch generate(Graph g, SynthConfig cfg, int batchIndex, IntConsumer progress) {
        int n = cfg.sizeOf(batchIndex);
        long seed = Seeds.forBatch(cfg.seed(), batchIndex);
        float[] x = Seeds.gaussian(seed, n * Tensor.size(g.inputShape()));
        int channels = g.inputShape()[0], plane = Tensor.size(g.inputShape()) / channels;
        cfg.clamp(x, channels, plane);
        BnMatchingLoss loss = new BnMatchingLoss(g);
        if (cfg.method().equals("gaussian")) {
            return new Batch(batchIndex, n, x, Map.of(), seed);
        }
        float[] grad = new float[x.length], m = new float[x.length], v = new float[x.length];
        double b1 = 0.9, b2 = 0.999, eps = 1e-8, lr = cfg.learningRate();
        for (int step = 1; step <= cfg.steps(); step++) {
            loss.lossAndInputGradient(g, x, n, grad, cfg.labelWeight(), batchIndex * cfg.batchSize());
            double c1 = 1 - Math.pow(b1, step), c2 = 1 - Math.pow(b2, step);
            for (int i = 0; i < x.length; i++) {
                m[i] = (float) (b1 * m[i] + (1 - b1) * grad[i]);
                v[i] = (float) (b2 * v[i] + (1 - b2) * grad[i] * grad[i]);
                x[i] -= (float) (lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps));
            }
            cfg.clamp(x, channels, plane);
            if (progress != null && (step % 10 == 0 || step == cfg.steps())) {
                progress.accept(step);
            }
        }
        BnMatchingLoss.Value last = loss.lossAndInputGradient(g, x, n, grad, cfg.labelWeight(), batchIndex * cfg.batchSize());
        return new Batch(batchIndex, n, x, last.byLayer(loss.targets()), seed);
    }
}
