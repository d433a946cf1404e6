/**
 * Hadoop filesystems behind {@code java.nio.file}: {@link io.zsq.spark.fs.HadoopFileSystemProvider} and its
 * paths, found by {@link io.zsq.core.io.Locations} for any name with a scheme Hadoop serves ({@code hdfs://},
 * {@code s3a://}, ...), so models, datasets and outputs may live on any of them.
 */
package io.zsq.spark.fs;
