/**
 * Spark and the command line, nothing else: {@link io.zsq.spark.SparkExecutor} (the pipeline's executor
 * on Spark: one task per batch, chunk or item, results collected in item order, shared values broadcast),
 * {@link io.zsq.spark.QuantizeJob} (the driver: the active session under {@code spark-submit}, else
 * {@code local[*]}), the {@code zsq} command line ({@link io.zsq.spark.Main}, picocli: it only parses
 * options into a {@link io.zsq.ptq.pipeline.Plan}) and {@code zsq bench}. The pipeline itself is
 * {@link io.zsq.ptq.pipeline.Pipeline} in zsq-ptq.
 */
package io.zsq.spark;
