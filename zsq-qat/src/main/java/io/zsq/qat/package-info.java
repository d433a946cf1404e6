/**
 * Level 2: zero-shot quantization-aware fine-tuning on synthetic data. The {@link io.zsq.qat.Student} is
 * the fake-quantized model as it is lowered (straight-through rounding, LSQ or PACT step sizes for weights
 * per channel and activations per tensor); {@link io.zsq.qat.FineTuner} distils it against the FP32 model
 * ({@link io.zsq.qat.Distillation}) with synchronous data-parallel steps over the pipeline's executor;
 * {@link io.zsq.qat.Reconstruction} instead rebuilds it block by block (BRECQ with AdaRound's learned
 * rounding); {@link io.zsq.qat.Checkpoint} lets either resume; {@link io.zsq.qat.Level2} is what the
 * pipeline calls.
 */
package io.zsq.qat;
