package io.zsq.core.ir;

/**
 * What a pass establishes about a graph, in pipeline order. A pass states the properties it requires
 * and the one it establishes (and those that must not hold yet); the pass runner refuses a wrong order.
 */
public enum Property {
    /** Every BatchNorm folded into the convolution or dense layer before it; its statistics kept as {@code stats.*}. */
    BN_FOLDED,
    /** Every ReLU/Clip fused into the layer that produces its input, as a clamp. */
    ACTIVATIONS_FUSED,
    /** Cross-layer equalization (DFQ) ran. */
    EQUALIZED,
    /** High-bias absorption (DFQ) ran. */
    HIGH_BIAS_ABSORBED,
    /** Biases corrected for the expected weight-quantization error (DFQ). */
    BIAS_CORRECTED,
    /** Activation and weight quantization parameters chosen for every quantization point. */
    QUANTIZERS_PLACED,
    /** Lowered to an integer-only model. */
    LOWERED
}
