package io.zsq.core.exec;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Row-major float GEMM through ND4J's BLAS: {@code C[m,n] = op(A) * op(B)}. Operands are moved to and
 * from native memory with bulk buffer copies ({@code Nd4j.create(float[])} copies element by element
 * and cost several times the GEMM itself for im2col-sized matrices).
 */
public final class Gemm {
    private Gemm() {}

    /**
     * @param a {@code [m, k]}, or {@code [k, m]} when {@code transA}
     * @param b {@code [k, n]}, or {@code [n, k]} when {@code transB}
     */
    public static float[] mul(float[] a, float[] b, int m, int k, int n, boolean transA, boolean transB) {
        try (INDArray A = load(a, transA ? new long[] {k, m} : new long[] {m, k});
             INDArray B = load(b, transB ? new long[] {n, k} : new long[] {k, n});
             INDArray C = Nd4j.createUninitialized(DataType.FLOAT, new long[] {m, n}, 'c')) {
            Nd4j.gemm(A, B, C, transA, transB, 1.0, 0.0);
            float[] c = new float[m * n];
            buffer(C).get(c);
            return c;
        }
    }

    private static INDArray load(float[] v, long[] shape) {
        INDArray x = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        buffer(x).put(v);
        return x;
    }

    private static FloatBuffer buffer(INDArray x) {
        return x.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
