package io.zsq.core.passes;

/** Where bias correction takes the expected layer inputs E[x] from (DFQ, Nagel et al. 2019). */
public enum BiasCorrection {
    /** No bias correction. */
    NONE,
    /** From the folded BatchNorm statistics (the pre-activation as N(beta, gamma^2) through the fused clamp): data-free. */
    ANALYTICAL,
    /** Per-channel input means measured on the synthetic calibration data. */
    EMPIRICAL,
    /** Analytical where a layer's input comes from a BatchNorm, else empirical. */
    AUTO;

    public boolean needsData() {
        return this == EMPIRICAL || this == AUTO;
    }
}
