package io.zsq.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.io.Locations;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.ptq.pipeline.QuantizeReport;
import io.zsq.runtime.IntModel;
import io.zsq.spark.fs.MiniHdfs;
import io.zsq.synth.ArrowDataset;
import io.zsq.synth.DatasetManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline with the model read from and every output written to a real HDFS (an in-JVM MiniDFSCluster
 * on 127.0.0.1), Spark tasks writing the synthetic batches there: the same integer model, to the bit, as
 * the same plan on the local disk.
 */
class HdfsPipelineTest {
    static MiniDFSCluster hdfs;
    static SparkSession spark;
    static JavaSparkContext jsc;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        hdfs = MiniHdfs.start("pipeline");
        spark = SparkSession.builder().config(TestSpark.local(2, "zsq-hdfs-test")).getOrCreate();
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
        MiniHdfs.stop(hdfs);
    }

    static Plan.Builder plan(Path model, Path out) {
        return Plan.builder().model(model).out(out).preprocessing("0.2860", "0.3530").count(48).batch(16).steps(3).bits("w4a4,w8a8")
                .gaussianBaseline(false).quiet(true);
    }

    @Test
    void modelInAndEverythingOutOnHdfsGivesTheLocalModelToTheBit() throws Exception {
        Path localOut = dir.resolve("local");
        QuantizeJob.run(plan(PipelineTest.RESNET, localOut).build(), jsc);

        Path model = Locations.of(hdfs.getURI() + "/models/fmnist-resnet.onnx");
        Files.createDirectories(model.getParent());
        Files.copy(PipelineTest.RESNET, model);
        Path out = Locations.of(hdfs.getURI() + "/runs/resnet");
        QuantizeReport r = QuantizeJob.run(plan(model, out).build(), jsc);

        assertArrayEquals(PipelineTest.withoutProvenance(IntModel.load(localOut.resolve("model.zsq"))),
                PipelineTest.withoutProvenance(IntModel.load(out.resolve("model.zsq"))), "the integer model on HDFS and on the local disk");
        assertEquals(DatasetManifest.read(localOut.resolve("calib")).batches(), DatasetManifest.read(out.resolve("calib")).batches(),
                "the synthetic batches' files and SHA-256s");
        for (String f : List.of("report.json", "report.html", "model.qdq.onnx", "model.qop.onnx")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f + " on HDFS");
            assertEquals(Files.size(localOut.resolve(f)) > 0, Files.size(out.resolve(f)) > 0, f);
        }
        assertTrue(Files.readString(out.resolve("report.json")).contains(hdfs.getURI() + "/runs/resnet"), "report.json names the HDFS folder");
        try (Stream<Path> s = Files.walk(out)) {
            List<Path> temporaries = s.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
            assertEquals(List.of(), temporaries, "temporaries left on HDFS");
        }
        assertEquals(3, ArrowDataset.batches(out.resolve("calib")).size());
        assertFalse(r.realDataUsedForCalibration());

        // deleting one batch and re-running regenerates exactly that batch, from the other two
        Path batch1 = ArrowDataset.batchFile(out.resolve("calib"), 1);
        byte[] before = Files.readAllBytes(batch1);
        Files.delete(batch1);
        QuantizeReport again = QuantizeJob.run(plan(model, out).build(), jsc);
        assertEquals(2L, again.synthesis().batchesResumed());
        assertArrayEquals(before, Files.readAllBytes(batch1), "the regenerated batch");
    }
}
