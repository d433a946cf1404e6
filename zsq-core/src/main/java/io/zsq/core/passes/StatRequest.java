package io.zsq.core.passes;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import java.io.Serializable;

/**
 * A statistic a pass needs from the calibration data (NNCF's statistic points). Requests are values:
 * equal requests are observed once. The pipeline runs the graph once per batch and gives every request
 * that batch's trace; the per-batch results are merged in batch order, so the result does not depend on
 * how the batches were split over threads or Spark partitions.
 *
 * @param <T> what one batch contributes, and what the merge of all batches is
 */
public interface StatRequest<T extends Serializable> extends Serializable {

    /**
     * What batch {@code index} contributes: {@code x} its NCHW images ({@code n} of them), {@code trace}
     * the forward pass of {@code g} over them (every tensor, NHWC).
     */
    T observe(Graph g, int index, float[] x, int n, Fp32Engine.Trace trace);

    /** {@code a} (the earlier batches) merged with {@code b} (the next one); neither argument changes. */
    T merge(T a, T b);
}
