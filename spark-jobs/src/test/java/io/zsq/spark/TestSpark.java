package io.zsq.spark;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;

/**
 * The tests' Spark: {@link #local} ({@code local[N]} in the test JVM, on 127.0.0.1, no UI), or {@link #cluster}, a
 * real Spark cluster on this machine: {@code local-cluster[N,1,1024]} runs a Master and N Workers in
 * this JVM and each executor as its own JVM, launched the way a standalone Worker launches them, from
 * {@code SPARK_HOME/jars} (the surefire configuration points SPARK_HOME at target/spark-home, which this
 * fills with links to the test class path's jars; the project's own class folders go on the executors'
 * extra class path).
 */
final class TestSpark {
    private TestSpark() {}

    /** {@code local[threads]}: tasks on threads of this JVM. */
    static SparkConf local(int threads, String app) {
        return new SparkConf().setMaster("local[" + threads + "]").setAppName(app).set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
    }

    /** {@code local-cluster[executors,1,1024]}: a Master, the Workers, and an executor JVM of 1 core and 1 GB per Worker. */
    static SparkConf cluster(int executors, String app) throws IOException {
        return cluster(executors, 1, 1024, app);
    }

    /** {@code local-cluster[workers,cores,memory]}: a Master and the Workers of {@code cores} cores and {@code memory} MB each. */
    static SparkConf cluster(int workers, int cores, int memory, String app) throws IOException {
        String home = System.getenv("SPARK_HOME");
        if (home == null) {
            throw new IllegalStateException("SPARK_HOME is not set (spark-jobs' surefire configuration sets it)");
        }
        Path jars = Path.of(home, "jars");
        Files.createDirectories(jars);
        List<String> folders = new ArrayList<>();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String e : cp.split(File.pathSeparator)) {
            Path p = Path.of(e).toAbsolutePath();
            if (Files.isDirectory(p)) {
                folders.add(p.toString());
            } else if (p.toString().endsWith(".jar") && Files.isRegularFile(p)) {
                Path link = jars.resolve(p.getFileName());
                if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.createSymbolicLink(link, p);
                }
            }
        }
        return local(1, app).setMaster("local-cluster[" + workers + "," + cores + "," + memory + "]")
                .set("spark.executor.extraClassPath", String.join(File.pathSeparator, folders))
                .set("spark.executorEnv.OMP_NUM_THREADS", "1").set("spark.executorEnv.SPARK_LOCAL_IP", "127.0.0.1");
    }
}
