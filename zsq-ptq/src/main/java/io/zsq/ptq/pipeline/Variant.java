package io.zsq.ptq.pipeline;

import io.zsq.core.ir.Graph;
import io.zsq.core.quant.Quantization;
import io.zsq.ptq.Bits;
import io.zsq.runtime.IntModel;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;

/**
 * One lowered model of a run: its bit setting, the calibration source ({@code synthetic}, {@code
 * gaussian} or {@code real}), its level (1: calibrated; 2: fine-tuned on the same data), the canonical graph it was lowered from (after bias correction), its
 * quantization, and the serialized integer model (bytes, so that it ships to Spark tasks as is).
 */
public record Variant(Bits bits, String source, int level, Graph graph, Quantization quantization, byte[] bytes) implements Serializable {
    public IntModel model() {
        try {
            return IntModel.read(new ByteArrayInputStream(bytes));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
