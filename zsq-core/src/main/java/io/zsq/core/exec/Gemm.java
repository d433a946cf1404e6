package io.zsq.core.exec;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Row-major float GEMM through ND4J's BLAS: {@code C[m,n] = op(A) * op(B)}. */
public final class Gemm {
    private Gemm() {}

    /**
     * @param a {@code [m, k]}, or {@code [k, m]} when {@code transA}
     * @param b {@code [k, n]}, or {@code [n, k]} when {@code transB}
     */
    public static float[] mul(float[] a, float[] b, int m, int k, int n, boolean transA, boolean transB) {
        try (INDArray A = Nd4j.create(a, transA ? new long[] {k, m} : new long[] {m, k}, 'c');
             INDArray B = Nd4j.create(b, transB ? new long[] {n, k} : new long[] {k, n}, 'c');
             INDArray C = Nd4j.create(DataType.FLOAT, new long[] {m, n}, 'c')) {
            Nd4j.gemm(A, B, C, transA, transB, 1.0, 0.0);
            return C.data().asFloat();
        }
    }
}
