package io.zsq.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.zsq.ptq.pipeline.Json;
import io.zsq.synth.ArrowDataset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code zsq job}: a job file of two models through the command line, re-run, resumed, refused. */
class JobTest {
    static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void spark() {
        spark = SparkSession.builder().config(TestSpark.local(2, "zsq-job-test")).getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    record Run(int exit, String out, String err) {}

    static Run zsq(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Two small models' job in {@code dir}: relative paths, defaults, one model's own option over them. */
    Path job(String resnetBits, String mobilenetModel) throws Exception {
        Path models = Files.createDirectories(dir.resolve("models"));
        Files.copy(Path.of("../src/models/fmnist-resnet.onnx"), models.resolve("resnet.onnx"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(Path.of("../src/models/fmnist-mobilenet.onnx"), models.resolve("mobilenet.onnx"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path f = dir.resolve("nightly.json");
        Files.writeString(f, """
                {"job": "nightly", "summary": "out/summary.json",
                 "defaults": {"bits": "w8a8", "count": 32, "batch": 16, "steps": 3, "mean": "0.2860", "std": "0.3530",
                              "eval": "%s", "eval-limit": 200, "no-gaussian": true, "quiet": true},
                 "models": [
                   {"name": "resnet", "model": "models/resnet.onnx", "out": "out/resnet", "bits": "%s"},
                   {"name": "mobilenet", "model": "%s", "out": "out/mobilenet", "bits": ["w8a8", "w4a8"]}
                 ]}
                """.formatted(PipelineTest.FASHION, resnetBits, mobilenetModel));
        return f;
    }

    static JsonNode summary(Path f) throws Exception {
        return Json.MAPPER.readTree(Files.readString(f));
    }

    @Test
    void runsEveryModelThenSkipsFinishedOnesAndResumesHalfFinishedOnes() throws Exception {
        Path f = job("w8a8", "models/mobilenet.onnx");
        Run r = zsq("job", f.toString());
        assertEquals(0, r.exit(), r.err());
        Path summaryFile = dir.resolve("out/summary.json");
        JsonNode s = summary(summaryFile);
        assertEquals("nightly", s.path("job").asText());
        assertEquals(0, s.path("exit_code").asInt());
        assertTrue(s.path("data_free").asBoolean());
        assertFalse(s.path("finished").isNull());
        for (JsonNode m : s.path("models")) {
            assertEquals("done", m.path("status").asText(), m.toString());
            assertFalse(m.path("real_data_read").asBoolean(true), m.toString());
            assertTrue(m.path("fp32_top1").asDouble() > 80, m.toString());
        }
        assertEquals(2, s.path("models").get(1).path("results").size(), "the mobilenet's own bits: w8a8 and w4a8");
        assertTrue(Files.isRegularFile(dir.resolve("out/resnet/model.zsq")) && Files.isRegularFile(dir.resolve("out/mobilenet/model.zsq")));
        byte[] resnet = Files.readAllBytes(dir.resolve("out/resnet/model.zsq"));

        // again: both finished, both skipped, nothing rewritten
        r = zsq("job", f.toString());
        assertEquals(0, r.exit(), r.err());
        s = summary(summaryFile);
        assertEquals("skipped", s.path("models").get(0).path("status").asText());
        assertEquals("skipped", s.path("models").get(1).path("status").asText());
        assertEquals(2, s.path("models").get(1).path("results").size(), "a skipped model's results come from its report");
        assertArrayEquals(resnet, Files.readAllBytes(dir.resolve("out/resnet/model.zsq")));

        // the mobilenet half-finished (its report and one batch gone, as a killed run leaves it): resumed from the other batch
        Files.delete(dir.resolve("out/mobilenet/report.json"));
        Files.delete(ArrowDataset.batchFile(dir.resolve("out/mobilenet/calib"), 0));
        r = zsq("job", f.toString(), "--summary", dir.resolve("again.json").toString());
        assertEquals(0, r.exit(), r.err());
        s = summary(dir.resolve("again.json"));
        assertEquals("skipped", s.path("models").get(0).path("status").asText());
        assertEquals("done", s.path("models").get(1).path("status").asText());
        assertEquals(1, Json.MAPPER.readTree(Files.readString(dir.resolve("out/mobilenet/report.json"))).path("synthesis").path("batches_resumed")
                .asInt(), "one batch kept, one made again");

        // a finished model whose plan changed is left alone and reported; the other is still skipped
        Path changed = job("w4a8", "models/mobilenet.onnx");
        r = zsq("job", changed.toString());
        assertEquals(2, r.exit(), r.err());
        s = summary(summaryFile);
        JsonNode m = s.path("models").get(0);
        assertEquals("failed", m.path("status").asText());
        assertTrue(m.path("error").asText().contains("holds a finished run of another plan (bits:"), m.toString());
        assertEquals("skipped", s.path("models").get(1).path("status").asText());
        assertArrayEquals(resnet, Files.readAllBytes(dir.resolve("out/resnet/model.zsq")), "nothing overwritten");
    }

    @Test
    void aModelThatFailsDoesNotStopTheOthers() throws Exception {
        Path f = job("w8a8", "models/none.onnx");
        Run r = zsq("job", f.toString());
        assertEquals(2, r.exit(), "bad input: " + r.err());
        JsonNode s = summary(dir.resolve("out/summary.json"));
        assertEquals("done", s.path("models").get(0).path("status").asText());
        JsonNode m = s.path("models").get(1);
        assertEquals("failed", m.path("status").asText());
        assertEquals(dir.resolve("models/none.onnx") + ": no such model file", m.path("error").asText());
        assertTrue(r.err().contains("zsq job nightly: mobilenet: failed: " + dir.resolve("models/none.onnx") + ": no such model file"), r.err());
        assertFalse(Files.exists(dir.resolve("out/mobilenet")), "nothing left of the failed model");
    }

    @Test
    void aBadJobFileIsOneLineAndRunsNothing() throws Exception {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, """
                {"defaults": {"bits": "w8a8"}, "models": [{"name": "a", "model": "m.onnx", "out": "o", "observr": "kl"}]}
                """);
        Run r = zsq("job", f.toString());
        assertEquals(2, r.exit());
        assertEquals("zsq: error: " + f + ": model 'a': unknown option \"observr\" (the options are zsq quantize's, without the dashes)",
                r.err().strip());
        Files.writeString(f, """
                {"models": [{"name": "a", "model": "m.onnx", "out": "o", "bits": "w9a8"}]}
                """);
        r = zsq("job", f.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().strip().startsWith("zsq: error: " + f + ": model 'a': "), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        Files.writeString(f, "{\"models\": [{\"name\": \"a\",}]}");
        r = zsq("job", f.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().strip().startsWith("zsq: error: " + f + ": not valid JSON ("), r.err());
        Files.writeString(f, """
                {"models": [{"name": "a", "model": "m.onnx", "out": "o"}, {"name": "b", "model": "m.onnx", "out": "o"}]}
                """);
        r = zsq("job", f.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains(": model 'b': out " + dir.resolve("o") + " is another model's too"), r.err());
        assertFalse(Files.exists(dir.resolve("o")));
        assertFalse(Files.exists(dir.resolve("bad.summary.json")), "no summary for a job that never started");
    }

    /** The example job shipped in src/jobs is valid as it stands. */
    @Test
    void theShippedExampleJobIsValid() {
        Run r = zsq("job", "../src/jobs/nightly.json", "--check");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("zsq job nightly-fmnist: 2 models, every option valid"), r.out());
    }
}
