package io.zsq.core;

import io.zsq.core.quant.QParams;

/**
 * How an ONNX export's float logits in ONNX Runtime agree with zsq-runtime's int8 ones, accumulated
 * over images: argmax agreement, outputs within one quantization step, the largest difference in steps.
 */
final class ExportAgreement {
    int images, agree, within, values;
    double worst;

    /** Adds one image: ONNX Runtime's logits against zsq-runtime's, whose quantization is {@code qo}. */
    void add(float[] ort, byte[] ours, QParams qo) {
        int a = 0, b = 0;
        for (int j = 0; j < ours.length; j++) {
            double d = Math.abs(ort[j] - qo.dequantize(ours[j])) / qo.scale();
            worst = Math.max(worst, d);
            within += d <= 1 + 1e-3 ? 1 : 0;
            values++;
            a = ort[j] > ort[a] ? j : a;
            b = ours[j] > ours[b] ? j : b;
        }
        agree += a == b ? 1 : 0;
        images++;
    }
}
