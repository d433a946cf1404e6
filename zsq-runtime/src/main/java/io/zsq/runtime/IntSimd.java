package io.zsq.runtime;

/**
 * Whether the int8 convolutions run on the JDK Vector API ({@link VectorKernels}): the
 * {@code jdk.incubator.vector} module must be in the boot layer ({@code --add-modules
 * jdk.incubator.vector}) and {@code -Dzsq.simd=false} turns it off. Either way the results are the
 * same, bit for bit.
 */
public final class IntSimd {
    private IntSimd() {}

    public static final boolean ENABLED = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("zsq.simd"));

    /** One line for logs and benchmark tables. */
    public static String describe() {
        return ENABLED ? "Vector API int8 kernels, " + VectorKernels.L + " int32 lanes" : "scalar int8 kernels";
    }
}
