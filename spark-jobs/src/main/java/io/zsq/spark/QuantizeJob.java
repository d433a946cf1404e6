package io.zsq.spark;

import io.zsq.ptq.pipeline.Pipeline;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.ptq.pipeline.QuantizeReport;
import java.io.IOException;
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
        return withSpark("zsq quantize", null, jsc -> run(plan, jsc));
    }

    public static QuantizeReport run(Plan plan, JavaSparkContext jsc) throws IOException {
        return Pipeline.run(plan, new SparkExecutor(jsc));
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
