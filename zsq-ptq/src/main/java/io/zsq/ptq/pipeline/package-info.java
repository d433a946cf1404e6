/**
 * The Level-1 pipeline, as a library with no Spark: a typed {@link io.zsq.ptq.pipeline.Plan} (every
 * choice a record or enum, validated once, serialized whole into the provenance), run by
 * {@link io.zsq.ptq.pipeline.Pipeline} as passes over the IR (zsq-core's, plus
 * {@link io.zsq.ptq.pipeline.PlaceQuantizers}); the statistics passes ask for
 * ({@link io.zsq.ptq.pipeline.Requests}) pooled and observed in one read of the calibration data
 * ({@link io.zsq.ptq.pipeline.Observation}); batch work (synthesis, observation, evaluation) handed to
 * an {@link io.zsq.ptq.pipeline.Executor}: {@link io.zsq.ptq.pipeline.InProcessExecutor} here, Spark's in
 * spark-jobs; the typed {@link io.zsq.ptq.pipeline.QuantizeReport} written as report.json (Jackson) and
 * report.html.
 */
package io.zsq.ptq.pipeline;
