/**
 * Where files live: {@link io.zsq.core.io.Locations} turns what a user types ({@code out/x},
 * {@code file:/data/m.onnx}, {@code hdfs://nn:8020/zsq/m.onnx}, {@code s3a://bucket/x}) into a
 * {@link java.nio.file.Path}, on the default filesystem or on one a {@link io.zsq.core.io.Locations.Resolver}
 * found by {@link java.util.ServiceLoader} serves (spark-jobs serves every Hadoop filesystem), and back
 * into a name any JVM of the job resolves to the same file. The rest of zsq reads and writes through
 * {@link java.nio.file.Files} alone.
 */
package io.zsq.core.io;
