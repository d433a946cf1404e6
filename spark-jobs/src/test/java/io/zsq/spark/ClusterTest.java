package io.zsq.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.io.Locations;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.ptq.pipeline.QuantizeReport;
import io.zsq.runtime.IntModel;
import io.zsq.spark.fs.MiniHdfs;
import io.zsq.synth.DatasetManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline on a real cluster: two executor JVMs ({@code local-cluster[2,1,1024]}), the model and every
 * output on a real HDFS (MiniDFSCluster), against the same plan run with Spark {@code local[1]} on the local
 * disk; and with an executor halted in the middle of synthesis, of calibration and of a Level-2 step.
 */
class ClusterTest {
    static MiniDFSCluster hdfs;
    static SparkSession spark;
    static JavaSparkContext jsc;
    static Path model;
    static byte[] reference;
    static List<DatasetManifest.Entry> referenceBatches;
    static final AtomicInteger lost = new AtomicInteger();

    @TempDir
    static Path dir;

    /** Every distributed stage: synthesis, calibration with empirical bias correction, mixed-precision sensitivity, Level-2 steps. */
    static Plan.Builder plan(Path model, Path out) {
        return Plan.builder().model(model).out(out).preprocessing("0.2860", "0.3530").count(64).batch(16).steps(3).bits("w4a4")
                .biasCorrection("empirical").sizeBudget("0.6x").gaussianBaseline(false).quiet(true)
                .fineTune(new Plan.FineTune(Plan.QatMethod.KD, 4, 16, 4, 1e-3, 1e-2, Plan.Optimizer.ADAM, Plan.Schedule.COSINE, 4, 0, 2, 1));
    }

    @BeforeAll
    static void start() throws Exception {
        SparkSession local = SparkSession.builder().config(TestSpark.local(1, "zsq-local-1")).getOrCreate();
        try {
            Path out = dir.resolve("local-1");
            QuantizeJob.run(plan(PipelineTest.RESNET, out).build(), JavaSparkContext.fromSparkContext(local.sparkContext()));
            reference = PipelineTest.withoutProvenance(IntModel.load(out.resolve("model.zsq")));
            referenceBatches = DatasetManifest.read(out.resolve("calib")).batches();
        } finally {
            local.stop();
        }
        hdfs = MiniHdfs.start("cluster");
        model = Locations.of(hdfs.getURI() + "/models/fmnist-resnet.onnx");
        Files.createDirectories(model.getParent());
        Files.copy(PipelineTest.RESNET, model);
        spark = SparkSession.builder().config(TestSpark.cluster(2, "zsq-cluster-test")).getOrCreate();
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
                lost.incrementAndGet();
            }
        });
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
        MiniHdfs.stop(hdfs);
    }

    /** Waits (up to a minute) until two executors are registered: at start, and after one was halted and its Worker started another. */
    static void awaitTwoExecutors() throws InterruptedException {
        for (int i = 0; i < 600 && jsc.sc().getExecutorIds().size() < 2; i++) {
            Thread.sleep(100);
        }
        assertEquals(2, jsc.sc().getExecutorIds().size(), "executors registered: " + jsc.sc().getExecutorIds());
    }

    /** Runs the plan into {@code name} on HDFS, optionally halting an executor at {@code halt}; checks the model and the dataset. */
    static Path runAndCompare(String name, String halt) throws Exception {
        Path out = Locations.of(hdfs.getURI() + "/runs/" + name);
        awaitTwoExecutors();
        int lostBefore = lost.get();
        jsc.setLocalProperty(FaultInjection.KEY, halt);
        try {
            QuantizeJob.run(plan(model, out).build(), jsc);
        } finally {
            jsc.setLocalProperty(FaultInjection.KEY, null);
        }
        if (halt != null) { // the listener bus is asynchronous: give the event a moment
            for (int i = 0; i < 100 && lost.get() == lostBefore; i++) {
                Thread.sleep(100);
            }
            assertEquals(lostBefore + 1, lost.get(), "executors lost while running " + name + " with " + halt);
        }
        assertArrayEquals(reference, PipelineTest.withoutProvenance(IntModel.load(out.resolve("model.zsq"))),
                "the integer model of " + name + " against local[1]'s");
        assertEquals(referenceBatches, DatasetManifest.read(out.resolve("calib")).batches(), "the synthetic batches of " + name);
        try (Stream<Path> s = Files.walk(out)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList(), "temporaries left in " + name);
        }
        return out;
    }

    @Test
    void twoExecutorsOnHdfsGiveTheLocalOneModelToTheBit() throws Exception {
        runAndCompare("plain", null);
    }

    @Test
    void anExecutorHaltedInTheMiddleOfSynthesisIsRetriedToTheSameModel() throws Exception {
        runAndCompare("halt-synthesis", "synthesize:1:before");
    }

    @Test
    void anExecutorHaltedAfterWritingItsBatchIsRetriedToTheSameModel() throws Exception {
        runAndCompare("halt-after-batch", "synthesize:2:after");
    }

    @Test
    void anExecutorHaltedInTheMiddleOfCalibrationIsRetriedToTheSameModel() throws Exception {
        runAndCompare("halt-calibration", "calibrate:1:before");
    }

    @Test
    void anExecutorHaltedInTheMiddleOfALevelTwoStepIsRetriedToTheSameModel() throws Exception {
        runAndCompare("halt-fine-tune", "fine-tune:2:before");
    }

    @Test
    void aLocalOutputFolderIsRefusedOnACluster() throws Exception {
        Path out = dir.resolve("local-out");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantizeJob.run(plan(model, out).build(), jsc));
        assertTrue(e.getMessage().startsWith("--out " + out + ": a local path, but the executors run apart from the driver"), e.getMessage());
        assertTrue(!Files.exists(out), "nothing written");
    }
}
