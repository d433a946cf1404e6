/**
 * The Spark drivers and the {@code zsq} command line. {@link io.zsq.spark.QuantizeJob} is the Java API
 * (a builder); the CLI in {@link io.zsq.spark.Main} only parses options into it. Work is split by
 * synthetic batch (generation, calibration) and by evaluation chunk; the same code runs under
 * {@code local[*]} and under {@code spark-submit}.
 */
package io.zsq.spark;
