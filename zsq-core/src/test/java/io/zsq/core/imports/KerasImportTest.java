package io.zsq.core.imports;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.OpType;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.modelimport.keras.KerasModelImport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * Keras 2 HDF5 models written by tools/make_keras_fixtures.py (src/test/resources/keras): the imported graph
 * computes, on NCHW input, what the script's own numpy forward computes on the same images in NHWC, to 1e-4 of
 * the output's scale; BatchNormalization stays BATCH_NORM; bad files are refused in one line naming the file
 * and, where it applies, the layer.
 */
class KerasImportTest {
    private static final Path DIR = Path.of("src/test/resources/keras");

    @TempDir
    Path dir;

    /** Conv2D(+bias) -> BN -> ReLU -> MaxPool -> Conv2D stride 2 -> BN -> ReLU -> GAP -> Dense softmax; written with a TF 2.11 training_config. */
    @Test
    void sequentialCnnGivesTheNumpyLogits() throws Exception {
        Graph g = ModelImporter.load(DIR.resolve("seq_cnn.h5"));
        Fixture f = fixture("seq_cnn");
        assertArrayEquals(new int[] {3, 12, 12}, g.inputShape(), "the IR input is [C, H, W]");
        assertAgrees(f, Fp32Engine.run(g, f.nchw(), f.batch));
        assertEquals(f.batchNorms, count(g, OpType.BATCH_NORM));
        assertEquals("keras", g.metadata().get("source.format"));
        assertEquals("logits", g.metadata().get("source.droppedSoftmax"));
        assertTrue(g.nodes().stream().anyMatch(n -> n.id().equals("conv1")), "node ids are the Keras layer names");
    }

    /**
     * Functional, 10x8x3: ZeroPadding2D -> DepthwiseConv2D -> BN -> ReLU(max_value=6) -> 1x1 Conv2D -> BN, a residual Add,
     * SeparableConv2D (multiplier 2) -> BN -> ReLU, AveragePooling2D, Flatten -> Dense. H != W and C > 1 after the flatten:
     * a Dense reading the flatten in the wrong order would give other numbers.
     */
    @Test
    void functionalResidualModelWithFlattenGivesTheNumpyOutputs() throws Exception {
        Graph g = ModelImporter.load(DIR.resolve("func_res.h5"));
        Fixture f = fixture("func_res");
        assertArrayEquals(new int[] {3, 10, 8}, g.inputShape());
        assertAgrees(f, Fp32Engine.run(g, f.nchw(), f.batch));
        assertEquals(f.batchNorms, count(g, OpType.BATCH_NORM));
        assertEquals(1, count(g, OpType.ADD));
        assertEquals(1, count(g, OpType.FLATTEN));
        assertEquals(1, count(g, OpType.CLIP), "ReLU(max_value=6) is a clip");
        assertFalse(g.metadata().containsKey("source.droppedSoftmax"));
    }

    /** The fixtures are what DL4J's own Keras import computes too (NHWC in, softmax applied by DL4J): the script is not wrong in the same way as zsq. */
    @Test
    void dl4jsOwnImportAgreesWithTheFixtures() throws Exception {
        Fixture s = fixture("seq_cnn");
        INDArray y = KerasModelImport.importKerasSequentialModelAndWeights(DIR.resolve("seq_cnn.h5").toString(), false)
                .output(Nd4j.create(s.nhwc, new long[] {s.batch, s.h, s.w, s.c}));
        assertAgrees(new Fixture(s, softmax(s.expected, s.classes)), y.dup('c').data().asFloat());
        Fixture f = fixture("func_res");
        INDArray z = KerasModelImport.importKerasModelAndWeights(DIR.resolve("func_res.h5").toString(), false)
                .outputSingle(Nd4j.create(f.nhwc, new long[] {f.batch, f.h, f.w, f.c}));
        assertAgrees(f, z.dup('c').data().asFloat());
    }

    @Test
    void truncatedFileNamesTheFile() throws Exception {
        byte[] all = Files.readAllBytes(DIR.resolve("seq_cnn.h5"));
        Path f = dir.resolve("truncated.h5");
        Files.write(f, Arrays.copyOf(all, all.length / 2));
        assertOneLine(f, "not a readable HDF5 file");
    }

    @Test
    void notAnHdf5FileNamesTheFile() throws Exception {
        Path f = dir.resolve("notes.h5");
        Files.writeString(f, "model weights are elsewhere\n".repeat(100));
        assertOneLine(f, "not an HDF5 file");
    }

    @Test
    void keras3ZipIsRefusedWithHowToResave() throws Exception {
        Path f = dir.resolve("model.keras");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(f))) {
            for (String e : new String[] {"metadata.json", "config.json", "model.weights.h5"}) {
                z.putNextEntry(new ZipEntry(e));
                z.write("{}".getBytes());
                z.closeEntry();
            }
        }
        String m = assertOneLine(f, "Keras 3 .keras file");
        assertTrue(m.contains("Keras 2 HDF5") && m.contains("model.save(\"m.h5\")"), m);
        Path renamed = Files.copy(f, dir.resolve("renamed.h5"));
        assertOneLine(renamed, "Keras 3 .keras file");
    }

    @Test
    void keras3HdfFileIsRefused() {
        String m = assertOneLine(DIR.resolve("keras3.h5"), "written by Keras 3.3.3");
        assertTrue(m.contains("model.save(\"m.h5\")"), m);
    }

    @Test
    void weightsOnlyFileSaysWhatIsMissing() {
        assertOneLine(DIR.resolve("weights_only.h5"), "no model_config");
    }

    @Test
    void lambdaLayerIsNamedWithItsClass() {
        String m = assertOneLine(DIR.resolve("lambda.h5"), "layer double (Lambda) is not supported");
        assertTrue(m.contains("supported: Activation, Add, AveragePooling2D"), m);
    }

    /** Accepted by DL4J's import, refused by the conversion: named by its Keras layer and class. */
    @Test
    void dilatedConvolutionIsNamedWithItsKerasClass() {
        assertOneLine(DIR.resolve("dilated.h5"), "conv_dilated (Conv2D): dilated convolutions are not supported");
    }

    @Test
    void inputShapeOptionMayOnlyRepeatTheModels() {
        assertArrayEquals(new int[] {3, 12, 12}, ModelImporter.load(DIR.resolve("seq_cnn.h5"), new int[] {3, 12, 12}).inputShape());
        assertOneLine(DIR.resolve("seq_cnn.h5"), new int[] {12, 12, 3}, "contradicts the model's input 3x12x12");
    }

    /** An NHWC flatten's dense weight rows (h, w, c) land where the IR's NCHW flatten puts (c, h, w). */
    @Test
    void denseRowsFollowTheFlattenOrder() {
        int c = 2, h = 3, w = 2, out = 2;
        float[] rows = new float[c * h * w * out];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int ci = 0; ci < c; ci++) {
                    for (int o = 0; o < out; o++) {
                        rows[((y * w + x) * c + ci) * out + o] = 1000 * ci + 100 * y + 10 * x + o;
                    }
                }
            }
        }
        float[] got = Dl4jImporter.hwcRowsToChw(new io.zsq.core.ir.Tensor(new int[] {c * h * w, out}, rows), new int[] {c, h, w}).data();
        for (int ci = 0; ci < c; ci++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    for (int o = 0; o < out; o++) {
                        assertEquals(1000 * ci + 100 * y + 10 * x + o, got[((ci * h + y) * w + x) * out + o]);
                    }
                }
            }
        }
    }

    private static String assertOneLine(Path f, String expected) {
        return assertOneLine(f, null, expected);
    }

    private static String assertOneLine(Path f, int[] inputShape, String expected) {
        ModelImportException e = assertThrows(ModelImportException.class, () -> ModelImporter.load(f, inputShape));
        String m = e.getMessage();
        assertTrue(m.startsWith(f.toString() + ": "), m);
        assertTrue(m.contains(expected), m);
        assertFalse(m.contains("\n") || m.contains("\tat ") || m.contains("Exception:"), m);
        return m;
    }

    private static void assertAgrees(Fixture f, float[] got) {
        assertEquals(f.expected.length, got.length);
        double scale = 0, worst = 0;
        for (float v : f.expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < got.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - f.expected[i]));
        }
        assertTrue(worst <= 1e-4 * scale, "max |zsq - numpy| " + worst + " over an output scale of " + scale + ": " + Arrays.toString(got)
                + " vs " + Arrays.toString(f.expected));
    }

    private static long count(Graph g, OpType op) {
        return g.nodes().stream().filter(n -> n.op() == op).count();
    }

    private static float[] softmax(float[] logits, int k) {
        float[] p = new float[logits.length];
        for (int i = 0; i < logits.length; i += k) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < k; j++) {
                max = Math.max(max, logits[i + j]);
            }
            for (int j = 0; j < k; j++) {
                sum += Math.exp(logits[i + j] - max);
            }
            for (int j = 0; j < k; j++) {
                p[i + j] = (float) (Math.exp(logits[i + j] - max) / sum);
            }
        }
        return p;
    }

    /** NAME.json, NAME.inputs.f32 (NHWC) and NAME.outputs.f32 as the script writes them. */
    private static Fixture fixture(String name) throws Exception {
        JsonNode meta = new ObjectMapper().readTree(DIR.resolve(name + ".json").toFile());
        JsonNode s = meta.get("input_nhwc");
        return new Fixture(meta.get("batch").asInt(), s.get(0).asInt(), s.get(1).asInt(), s.get(2).asInt(), meta.get("output").get(0).asInt(),
                meta.get("batch_norms").asInt(), floats(DIR.resolve(name + ".inputs.f32")), floats(DIR.resolve(name + ".outputs.f32")));
    }

    private static float[] floats(Path p) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }

    private record Fixture(int batch, int h, int w, int c, int classes, int batchNorms, float[] nhwc, float[] expected) {
        Fixture {
            if (nhwc.length != batch * h * w * c || expected.length != batch * classes) {
                throw new IllegalArgumentException("fixture sizes do not match its json");
            }
        }

        Fixture(Fixture f, float[] expected) {
            this(f.batch, f.h, f.w, f.c, f.classes, f.batchNorms, f.nhwc, expected);
        }

        /** The Keras inputs [N, H, W, C] as a zsq user passes them: [N, C, H, W]. */
        float[] nchw() {
            float[] t = new float[nhwc.length];
            for (int n = 0; n < batch; n++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        for (int ci = 0; ci < c; ci++) {
                            t[((n * c + ci) * h + y) * w + x] = nhwc[((n * h + y) * w + x) * c + ci];
                        }
                    }
                }
            }
            return t;
        }
    }
}
