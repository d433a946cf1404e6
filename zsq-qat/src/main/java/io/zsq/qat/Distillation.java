package io.zsq.qat;

/**
 * Hinton et al.'s distillation loss on logits: {@code T^2 KL(softmax(t/T) || softmax(s/T))} per image,
 * summed here (the caller divides by the batch), and its gradient to the student's logits,
 * {@code T (softmax(s/T) - softmax(t/T))}. In double, with the usual max shift.
 */
public final class Distillation {
    private Distillation() {}

    /**
     * Adds {@code scale} times the gradient to {@code grad} and returns the summed loss (unscaled) over
     * the {@code n} images of {@code k} logits each.
     */
    public static double lossAndGradient(float[] student, float[] teacher, int n, int k, double temperature, double scale, float[] grad) {
        double total = 0;
        double[] ps = new double[k], pt = new double[k];
        for (int i = 0; i < n; i++) {
            double ls = softmax(student, i * k, k, temperature, ps), lt = softmax(teacher, i * k, k, temperature, pt);
            double kl = 0;
            for (int j = 0; j < k; j++) {
                if (pt[j] > 0) {
                    // log pt - log ps, from the shifted logits (no log of a rounded-to-zero probability)
                    double logPt = teacher[i * k + j] / temperature - lt, logPs = student[i * k + j] / temperature - ls;
                    kl += pt[j] * (logPt - logPs);
                }
                grad[i * k + j] += (float) (scale * temperature * (ps[j] - pt[j]));
            }
            total += temperature * temperature * kl;
        }
        return total;
    }

    /**
     * The feature term of {@code n} images (stored per image, contiguous): {@code weight * ||s - t||^2 /
     * (||t||^2 + 1e-12)} per image, summed; adds {@code scale} times its gradient to {@code grad}.
     */
    public static double featureLossAndGradient(float[] student, float[] teacher, int n, double weight, double scale, float[] grad) {
        int per = student.length / n;
        double total = 0;
        for (int i = 0; i < n; i++) {
            double e = 1e-12, d2 = 0;
            for (int j = i * per; j < (i + 1) * per; j++) {
                e += (double) teacher[j] * teacher[j];
                double d = student[j] - teacher[j];
                d2 += d * d;
            }
            total += weight * d2 / e;
            double f = scale * weight * 2 / e;
            for (int j = i * per; j < (i + 1) * per; j++) {
                grad[j] += (float) (f * (student[j] - teacher[j]));
            }
        }
        return total;
    }

    /**
     * {@code weight} times the cross-entropy of the student's logits to {@code labels} (one class per image),
     * summed over the {@code n} images; adds {@code scale} times its gradient, {@code weight (softmax(s) -
     * onehot)}, to {@code grad}.
     */
    public static double crossEntropyAndGradient(float[] student, int[] labels, int n, int k, double weight, double scale, float[] grad) {
        double total = 0;
        double[] p = new double[k];
        for (int i = 0; i < n; i++) {
            double lse = softmax(student, i * k, k, 1, p);
            total += weight * (lse - student[i * k + labels[i]]);
            for (int j = 0; j < k; j++) {
                grad[i * k + j] += (float) (scale * weight * (p[j] - (j == labels[i] ? 1 : 0)));
            }
        }
        return total;
    }

    /** Fills {@code p} with softmax(x/T) of one row; returns log of its normalizer (log-sum-exp of x/T). */
    private static double softmax(float[] x, int at, int k, double t, double[] p) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < k; j++) {
            max = Math.max(max, x[at + j] / t);
        }
        double sum = 0;
        for (int j = 0; j < k; j++) {
            p[j] = Math.exp(x[at + j] / t - max);
            sum += p[j];
        }
        for (int j = 0; j < k; j++) {
            p[j] /= sum;
        }
        return max + Math.log(sum);
    }
}
