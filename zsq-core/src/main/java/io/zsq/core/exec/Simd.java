package io.zsq.core.exec;

/**
 * Whether the JDK Vector API kernels run: the {@code jdk.incubator.vector} module must be in the boot
 * layer ({@code --add-modules jdk.incubator.vector}, which the launcher, the tests and the Spark jobs
 * pass), and {@code -Dzsq.simd=false} turns them off. Without them the scalar kernels give the same
 * results up to float summation order.
 */
public final class Simd {
    private Simd() {}

    /** True when the Vector API kernels are used. */
    public static final boolean ENABLED = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("zsq.simd"));

    /** Float lanes of the vector kernels (the preferred species' length), or 1 when disabled. */
    public static final int LANES = ENABLED ? VectorConv.LANES : 1;

    /** One line for logs and benchmark tables. */
    public static String describe() {
        return ENABLED ? "Vector API, " + LANES + " float lanes" : "scalar (jdk.incubator.vector not loaded or -Dzsq.simd=false)";
    }
}
