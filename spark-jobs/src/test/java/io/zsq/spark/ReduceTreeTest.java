package io.zsq.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.zsq.ptq.pipeline.Executor;
import io.zsq.ptq.pipeline.InProcessExecutor;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Executor#reduce}'s merge tree, written out by a merge that is not associative (it brackets): the
 * plain left fold up to 64 items, consecutive chunks of ceil(n / 64) beyond, the same for threads and
 * Spark partitions of any number.
 */
class ReduceTreeTest {
    static SparkSession spark;
    static JavaSparkContext jsc;

    @BeforeAll
    static void spark() {
        spark = SparkSession.builder().config(TestSpark.local(3, "zsq-reduce")).getOrCreate();
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** The tree the contract describes, built independently of any executor. */
    static String expected(int n) {
        int size = Math.max(1, (n + 63) / 64);
        String acc = null;
        for (int from = 0; from < n; from += size) {
            String part = null;
            for (int i = from; i < Math.min(n, from + size); i++) {
                part = part == null ? Integer.toString(i) : "(" + part + "+" + i + ")";
            }
            acc = acc == null ? part : "(" + acc + "+" + part + ")";
        }
        return acc;
    }

    @ParameterizedTest(name = "{0} items")
    @ValueSource(ints = {1, 5, 64, 65, 130, 200})
    void everyExecutorMergesInTheSameFixedTree(int n) throws Exception {
        List<Integer> items = IntStream.range(0, n).boxed().toList();
        String want = expected(n);
        if (n <= 64) {
            String fold = "0";
            for (int i = 1; i < n; i++) {
                fold = "(" + fold + "+" + i + ")";
            }
            assertEquals(fold, want, "up to 64 items: the left fold");
        }
        for (Executor ex : List.of(new InProcessExecutor(1), new InProcessExecutor(3), new SparkExecutor(jsc, 1), new SparkExecutor(jsc, 4),
                new SparkExecutor(jsc))) {
            String got = ex.reduce("tree", items, i -> Integer.toString(i), (a, b) -> "(" + a + "+" + b + ")");
            assertEquals(want, got, ex.getClass().getSimpleName() + " with " + n + " items");
        }
    }
}
