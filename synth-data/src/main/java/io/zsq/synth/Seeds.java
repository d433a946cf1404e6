package io.zsq.synth;

import java.util.SplittableRandom;

/** Every random stream derives from (job seed, batch index), so any batch can be regenerated alone. */
public final class Seeds {
    private Seeds() {}

    public static long forBatch(long jobSeed, int batchIndex) {
        return new SplittableRandom(jobSeed * 0x9E3779B97F4A7C15L + batchIndex).nextLong();
    }

    /** N(0, 1) values for a batch. */
    public static float[] gaussian(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i += 2) {
            // Box-Muller from two uniforms: platform-independent, unlike nextGaussian's history
            double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
            double m = Math.sqrt(-2 * Math.log(u1));
            x[i] = (float) (m * Math.cos(2 * Math.PI * u2));
            if (i + 1 < n) {
                x[i + 1] = (float) (m * Math.sin(2 * Math.PI * u2));
            }
        }
        return x;
    }
}
