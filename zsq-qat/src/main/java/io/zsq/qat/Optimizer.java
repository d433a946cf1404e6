package io.zsq.qat;

import io.zsq.ptq.pipeline.Plan;
import java.io.Serializable;

/**
 * Adam (Kingma and Ba, betas 0.9 / 0.999, eps 1e-8) or SGD with momentum 0.9 over one flat parameter
 * vector, with two learning rates (weights and biases; step sizes), both following the schedule: cosine
 * to zero, steps of x0.1 at 50% and 75% of the run, or constant. Step sizes are updated in the log
 * domain (the optimizer sees {@code d loss / d log s = s * d loss / d s} and multiplies {@code s} by
 * {@code exp(-update)}): weight scales of 0.005 and activation scales of 0.5 then move by the same
 * relative amount per step, which an additive Adam step of one learning rate cannot do; a scale also
 * stays positive. They are kept at least {@code 1e-3} of where they started. The state is plain arrays
 * (checkpointed as they are).
 */
public final class Optimizer implements Serializable {
    private static final double B1 = 0.9, B2 = 0.999, EPS = 1e-8, MOMENTUM = 0.9;

    final Plan.Optimizer kind;
    final Plan.Schedule schedule;
    final double lr, scaleLr;
    final int steps;
    final boolean[] isScale;
    final float[] floor;
    final float[] m, v;
    int t;

    public Optimizer(Plan.FineTune s, float[] initial, boolean[] isScale) {
        this.kind = s.optimizer();
        this.schedule = s.schedule();
        this.lr = s.lr();
        this.scaleLr = s.scaleLr();
        this.steps = s.steps();
        this.isScale = isScale;
        this.floor = new float[initial.length];
        for (int i = 0; i < initial.length; i++) {
            floor[i] = isScale[i] ? initial[i] * 1e-3f : Float.NEGATIVE_INFINITY;
        }
        this.m = new float[initial.length];
        this.v = kind == Plan.Optimizer.ADAM ? new float[initial.length] : null;
    }

    /** The schedule's factor at step {@code k} (0-based) of {@code steps}. */
    static double factor(Plan.Schedule s, int k, int steps) {
        return switch (s) {
            case COSINE -> 0.5 * (1 + Math.cos(Math.PI * k / steps));
            case STEP -> k < steps / 2 ? 1 : k < steps * 3 / 4 ? 0.1 : 0.01;
            case CONSTANT -> 1;
        };
    }

    /** One update of {@code p} in place from the gradient {@code g}. */
    public void step(float[] p, float[] g) {
        double f = factor(schedule, t, steps);
        t++;
        double bc1 = 1 - Math.pow(B1, t), bc2 = 1 - Math.pow(B2, t);
        for (int i = 0; i < p.length; i++) {
            double rate = (isScale[i] ? scaleLr : lr) * f;
            double gi = isScale[i] ? (double) g[i] * p[i] : g[i];
            double upd;
            if (v != null) {
                m[i] = (float) (B1 * m[i] + (1 - B1) * gi);
                v[i] = (float) (B2 * v[i] + (1 - B2) * gi * gi);
                upd = rate * (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + EPS);
            } else {
                m[i] = (float) (MOMENTUM * m[i] + gi);
                upd = rate * m[i];
            }
            p[i] = (float) Math.max(floor[i], isScale[i] ? p[i] * Math.exp(-upd) : p[i] - upd);
        }
    }

    /** Steps taken. */
    public int steps() {
        return t;
    }
}
