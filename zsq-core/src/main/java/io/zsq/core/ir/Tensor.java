package io.zsq.core.ir;

import java.io.Serializable;
import java.util.Arrays;

/** An FP32 constant with its shape, row-major. The data array is not copied: treat it as immutable. */
public record Tensor(int[] shape, float[] data) implements Serializable {
    public Tensor {
        shape = shape.clone();
        if (size(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold " + data.length + " values");
        }
    }

    public static int size(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    public int dim(int i) {
        return shape[i];
    }
}
