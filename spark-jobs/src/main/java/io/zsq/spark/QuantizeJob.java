package io.zsq.spark;

import io.zsq.ptq.pipeline.Pipeline;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.ptq.pipeline.QuantizeReport;
import io.zsq.core.io.Locations;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark driver of a quantize run: the {@link Pipeline} with a {@link SparkExecutor}, on the active
 * Spark session (spark-submit) or on a {@code local[*]} one started and stopped here.
 */
public final class QuantizeJob {
    private QuantizeJob() {}

    public static QuantizeReport run(Plan plan) throws IOException {
        return run(plan, false);
    }

    /** @param localPathsShared the user says local paths are one folder on every node (a shared mount) */
    public static QuantizeReport run(Plan plan, boolean localPathsShared) throws IOException {
        return withSpark("zsq quantize", null, jsc -> run(plan, jsc, localPathsShared));
    }

    public static QuantizeReport run(Plan plan, JavaSparkContext jsc) throws IOException {
        return run(plan, jsc, false);
    }

    public static QuantizeReport run(Plan plan, JavaSparkContext jsc, boolean localPathsShared) throws IOException {
        requireShared(jsc, localPathsShared, "--out", plan.out(), "--calib", plan.calibDataset());
        return Pipeline.run(plan, new SparkExecutor(jsc));
    }

    /**
     * Refuses, in one line, a local path that tasks write or read when the executors are other JVMs (any
     * master but {@code local[...]}): on a cluster each executor would see its own disk, and the driver would
     * find no batches. {@code options} are (option name, path or null) pairs.
     */
    static void requireShared(JavaSparkContext jsc, boolean localPathsShared, Object... options) {
        if (jsc.isLocal() || localPathsShared) {
            return;
        }
        for (int i = 0; i < options.length; i += 2) {
            if (options[i + 1] instanceof Path p && Locations.isDefault(p)) {
                throw new IllegalArgumentException(options[i] + " " + p + ": a local path, but the executors run apart from the driver (master "
                        + jsc.master() + "); give an hdfs:// (or other shared filesystem) path, or --local-paths-shared if it is one folder "
                        + "mounted on every node");
            }
        }
    }

    /** A Spark action that may fail with an IOException. */
    @FunctionalInterface
    interface SparkWork<T> {
        T apply(JavaSparkContext jsc) throws IOException;
    }

    /**
     * Runs {@code work} on the active Spark session (spark-submit) or on a new local one ({@code
     * local[threads]}, or {@code local[*]} when threads is null) that is stopped afterwards.
     */
    static <T> T withSpark(String app, Integer threads, SparkWork<T> work) throws IOException {
        SparkSession active = SparkSession.getActiveSession().isDefined() ? SparkSession.getActiveSession().get() : null;
        SparkConf conf = new SparkConf().setIfMissing("spark.master", threads == null ? "local[*]" : "local[" + threads + "]")
                .setIfMissing("spark.app.name", app).setIfMissing("spark.ui.enabled", "false")
                .setIfMissing("spark.executorEnv.OMP_NUM_THREADS", "1");
        if (conf.get("spark.master").startsWith("local")) {
            conf.setIfMissing("spark.driver.host", "127.0.0.1").setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        SparkSession spark = active != null ? active : SparkSession.builder().config(conf).getOrCreate();
        try {
            return work.apply(new JavaSparkContext(spark.sparkContext()));
        } finally {
            if (active == null) {
                spark.stop();
            }
        }
    }
}
