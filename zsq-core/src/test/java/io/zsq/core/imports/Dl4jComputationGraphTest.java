package io.zsq.core.imports;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.OpType;
import java.nio.file.Path;
import java.util.Random;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.L2NormalizeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** DL4J ComputationGraph zips: the imported graph computes what DL4J computes; unmapped vertices are named. */
class Dl4jComputationGraphTest {
    private static final int C = 3, H = 9, W = 8, N = 5;

    @TempDir
    Path dir;

    /** Residual block, global average pooling, a dense layer, an identity output layer: logits compared directly. */
    @Test
    void residualGraphWithGlobalPoolingGivesDl4jLogits() throws Exception {
        ComputationGraph cg = residual(true, Activation.IDENTITY, LossFunctions.LossFunction.MSE);
        Graph g = importAndCompare(cg, "gap.zip", false);
        assertBatchNormActivationIgnored(cg);
        assertIntegerModelFollows(g);
        assertEquals(3, count(g, OpType.BATCH_NORM));
        assertEquals(1, count(g, OpType.ADD));
        assertEquals(1, count(g, OpType.GLOBAL_AVG_POOL));
        assertEquals(2, count(g, OpType.DENSE));
    }

    /** The same block into a CnnToFeedForward preprocessor (FLATTEN in NCHW order) and a softmax output layer, whose softmax zsq drops. */
    @Test
    void residualGraphWithFlattenAndSoftmaxGivesDl4jProbabilitiesAfterSoftmax() throws Exception {
        ComputationGraph cg = residual(false, Activation.SOFTMAX, LossFunctions.LossFunction.MCXENT);
        Graph g = importAndCompare(cg, "flat.zip", true);
        assertBatchNormActivationIgnored(cg);
        assertEquals(1, count(g, OpType.FLATTEN));
        assertEquals(1, count(g, OpType.MAX_POOL));
        assertEquals(1, count(g, OpType.AVG_POOL));
    }

    /**
     * img -> conv -> BN -> ReLU6 -> ZeroPadding (asymmetric) -> depthwise 3x3 x2 stride 2 -> BN -> ReLU; that -> separable
     * 3x3 x2 Same -> BN and -> 1x1 conv -> BN; a three-input Add; avg pool 3x3 padding 1; dropout; global pooling; output.
     */
    @Test
    void depthwiseSeparablePaddingAndThreeInputAddGiveDl4jLogits() throws Exception {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(5).weightInit(WeightInit.XAVIER)
                .dataType(DataType.FLOAT).graphBuilder()
                .addInputs("img")
                .addLayer("stem", new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.IDENTITY).build(), "img")
                .addLayer("stem_bn", new BatchNormalization.Builder().build(), "stem")
                .addLayer("relu6", new ActivationLayer.Builder().activation(Activation.RELU6).build(), "stem_bn")
                .addLayer("zpad", new ZeroPaddingLayer.Builder(1, 0, 0, 2).build(), "relu6")
                .addLayer("dw", new DepthwiseConvolution2D.Builder(3, 3).stride(2, 2).depthMultiplier(2).nOut(8)
                        .activation(Activation.IDENTITY).build(), "zpad")
                .addLayer("dw_bn", new BatchNormalization.Builder().build(), "dw")
                .addLayer("dw_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), "dw_bn")
                .addLayer("sep", new SeparableConvolution2D.Builder(3, 3).convolutionMode(ConvolutionMode.Same).depthMultiplier(2).nOut(8)
                        .activation(Activation.IDENTITY).build(), "dw_relu")
                .addLayer("sep_bn", new BatchNormalization.Builder().build(), "sep")
                .addLayer("pw", new ConvolutionLayer.Builder(1, 1).nOut(8).activation(Activation.IDENTITY).build(), "dw_relu")
                .addLayer("pw_bn", new BatchNormalization.Builder().build(), "pw")
                .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "dw_relu", "sep_bn", "pw_bn")
                .addLayer("avg", new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(3, 3).stride(1, 1).padding(1, 1).build(), "sum")
                .addLayer("drop", new DropoutLayer.Builder(0.5).build(), "avg")
                .addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "drop")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(3).activation(Activation.IDENTITY).build(), "gap")
                .setOutputs("out")
                .setInputTypes(InputType.convolutionalFlat(H, W, C))
                .build();
        ComputationGraph cg = new ComputationGraph(conf);
        cg.init();
        Random r = new Random(13);
        for (String bn : new String[] {"stem_bn", "dw_bn", "sep_bn", "pw_bn"}) {
            randomize(cg.getLayer(bn), r);
        }
        for (String layer : new String[] {"stem", "dw", "sep", "pw", "out"}) {
            set(cg.getLayer(layer).getParam("b"), r, -0.3, 0.3);
        }
        Graph g = importAndCompare(cg, "mobile.zip", false);
        assertIntegerModelFollows(g);
        assertEquals(2, g.nodes().stream().filter(n -> n.op() == OpType.CONV && n.ints("group")[0] > 1).count());
        assertEquals(2, count(g, OpType.ADD));
        assertEquals(1, count(g, OpType.PAD));
        assertEquals(1, count(g, OpType.CLIP));
    }

    @Test
    void unsupportedVertexIsNamedInOneLine() throws Exception {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).graphBuilder()
                .addInputs("img")
                .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.IDENTITY).build(), "img")
                .addLayer("bn", new BatchNormalization.Builder().build(), "conv")
                .addVertex("l2", new L2NormalizeVertex(), "bn")
                .addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "l2")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build(), "gap")
                .setOutputs("out")
                .setInputTypes(InputType.convolutionalFlat(H, W, C))
                .build();
        ComputationGraph cg = new ComputationGraph(conf);
        cg.init();
        Path f = dir.resolve("l2.zip");
        ModelSerializer.writeModel(cg, f.toFile(), false);
        ModelImportException e = assertThrows(ModelImportException.class, () -> ModelImporter.load(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("vertex l2 (L2NormalizeVertex"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    /** The 4-D InputType.convolutional is not saved in the zip: the import says how to build the graph instead. */
    @Test
    void imageInputWithoutRecordedSizeSaysHowToBuildIt() throws Exception {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).graphBuilder()
                .addInputs("img")
                .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.IDENTITY).build(), "img")
                .addLayer("bn", new BatchNormalization.Builder().build(), "conv")
                .addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "bn")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build(), "gap")
                .setOutputs("out")
                .setInputTypes(InputType.convolutional(H, W, C))
                .build();
        ComputationGraph cg = new ComputationGraph(conf);
        cg.init();
        Path f = dir.resolve("nchw.zip");
        ModelSerializer.writeModel(cg, f.toFile(), false);
        ModelImportException e = assertThrows(ModelImportException.class, () -> ModelImporter.load(f));
        assertTrue(e.getMessage().contains("input img (read by vertex conv)"), e.getMessage());
        assertTrue(e.getMessage().contains("InputType.convolutionalFlat(height, width, channels)"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    /** The MultiLayerNetwork path goes through the same layer mapping: the bundled zip still computes what DL4J computes. */
    @Test
    void bundledMultiLayerNetworkGivesDl4jOutput() throws Exception {
        Path f = Path.of("../src/models/fmnist-dl4j-cnn.zip");
        Graph g = ModelImporter.load(f);
        org.deeplearning4j.nn.multilayer.MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(f.toFile(), false);
        int size = g.inputShape()[0] * g.inputShape()[1] * g.inputShape()[2];
        Random r = new Random(5);
        float[] x = new float[2 * size];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] ours = Fp32Engine.run(g, x, 2);
        float[] probs = net.output(Nd4j.create(x, new long[] {2, size}), false).dup('c').data().asFloat();
        int k = ours.length / 2;
        for (int n = 0; n < 2; n++) { // the importer drops the output softmax
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(ours[n * k + j]);
            }
            for (int j = 0; j < k; j++) {
                assertEquals(probs[n * k + j], Math.exp(ours[n * k + j]) / sum, 1e-4, "output " + n + "," + j);
            }
        }
    }

    /**
     * img -> conv 3x3 stride 2 Same (asymmetric pads) -> BN (with its own ReLU) -> [max pool 2x2 stride 1 when flat]
     * = stem; stem -> conv 3x3 Truncate pad 1 -> BN (log10 std) -> ReLU -> conv 3x3 Same -> BN (variance); Add with the
     * stem; ActivationLayer ReLU; then global average pooling -> dense ReLU, or avg pool -> (CnnToFeedForward) dense;
     * -> output layer.
     */
    private static ComputationGraph residual(boolean gap, Activation outAct, LossFunctions.LossFunction loss) {
        int f = 4;
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().seed(7).weightInit(WeightInit.XAVIER)
                .dataType(DataType.FLOAT).graphBuilder()
                .addInputs("img")
                .addLayer("stem", new ConvolutionLayer.Builder(3, 3).stride(2, 2).convolutionMode(ConvolutionMode.Same).nOut(f)
                        .activation(Activation.IDENTITY).build(), "img")
                .addLayer("stem_bn", new BatchNormalization.Builder().activation(Activation.RELU).build(), "stem");
        String stem = "stem_bn";
        if (!gap) {
            b.addLayer("pool", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(1, 1).build(), stem);
            stem = "pool";
        }
        b.addLayer("c1", new ConvolutionLayer.Builder(3, 3).padding(1, 1).nOut(f).activation(Activation.IDENTITY).build(), stem)
                .addLayer("bn1", new BatchNormalization.Builder().useLogStd(true).build(), "c1")
                .addLayer("relu1", new ActivationLayer.Builder().activation(Activation.RELU).build(), "bn1")
                .addLayer("c2", new ConvolutionLayer.Builder(3, 3).convolutionMode(ConvolutionMode.Same).nOut(f)
                        .activation(Activation.IDENTITY).build(), "relu1")
                .addLayer("bn2", new BatchNormalization.Builder().useLogStd(false).eps(1e-3).build(), "c2")
                .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "bn2", stem)
                .addLayer("relu2", new ActivationLayer.Builder().activation(Activation.RELU).build(), "sum");
        if (gap) {
            b.addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "relu2")
                    .addLayer("fc", new DenseLayer.Builder().nOut(6).activation(Activation.RELU).build(), "gap")
                    .addLayer("out", new OutputLayer.Builder(loss).nOut(3).activation(outAct).build(), "fc");
        } else {
            b.addLayer("avg", new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(2, 2).stride(1, 1).build(), "relu2")
                    .addLayer("out", new OutputLayer.Builder(loss).nOut(3).activation(outAct).build(), "avg");
        }
        ComputationGraph cg = new ComputationGraph(b.setOutputs("out").setInputTypes(InputType.convolutionalFlat(H, W, C)).build());
        cg.init();
        Random r = new Random(11);
        for (String bn : new String[] {"stem_bn", "bn1", "bn2"}) {
            randomize(cg.getLayer(bn), r);
        }
        for (String layer : new String[] {"stem", "c1", "c2", "out"}) { // DL4J starts biases at zero
            set(cg.getLayer(layer).getParam("b"), r, -0.3, 0.3);
        }
        return cg;
    }

    /** The imported graph goes through the pipeline: BN folded, W8A8 integer model within 5% of the FP32 logits' range. */
    private static void assertIntegerModelFollows(Graph imported) {
        Graph g = io.zsq.core.passes.Canonicalize.run(imported, null);
        assertEquals(0, count(g, OpType.BATCH_NORM));
        int n = 16;
        float[] x = new float[n * C * H * W];
        Random r = new Random(17);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        io.zsq.core.quant.Scheme scheme = io.zsq.core.quant.Scheme.of(8, 8);
        java.util.Map<String, io.zsq.core.quant.QParams> points = io.zsq.core.Fixtures.minMaxPoints(g, scheme, x, n, 1.0);
        io.zsq.runtime.IntRunner run = new io.zsq.runtime.IntRunner(io.zsq.core.passes.LowerToInteger.lower(g, points, scheme, java.util.Map.of()));
        java.util.Map<String, io.zsq.core.quant.QParams> act = io.zsq.core.quant.QuantPoints.propagate(g, points);
        byte[][] q = io.zsq.core.quant.FakeQuant.quantizeInput(x, n, act.get(g.input()));
        float[] fp = Fp32Engine.run(imported, x, n);
        double range = 0, worst = 0;
        for (float v : fp) {
            range = Math.max(range, Math.abs(v));
        }
        int k = fp.length / n;
        for (int i = 0; i < n; i++) {
            byte[] y = run.run(q[i]);
            for (int j = 0; j < k; j++) {
                worst = Math.max(worst, Math.abs(act.get(g.output()).dequantize(y[j]) - fp[i * k + j]));
            }
        }
        assertTrue(worst < 0.05 * range, "integer model off by " + worst + " of " + range);
    }

    /** DL4J's BatchNormalization ignores its activation (stem_bn says RELU, and zsq ignores it too): stem_bn has negatives. */
    private static void assertBatchNormActivationIgnored(ComputationGraph cg) {
        INDArray x = Nd4j.rand(DataType.FLOAT, N, C * H * W).subi(0.5).muli(4);
        assertTrue(cg.feedForward(x, false).get("stem_bn").minNumber().doubleValue() < -0.1);
    }

    private Graph importAndCompare(ComputationGraph cg, String name, boolean softmax) throws Exception {
        Path f = dir.resolve(name);
        ModelSerializer.writeModel(cg, f.toFile(), false);
        Graph g = ModelImporter.load(f);
        assertEquals("img", g.input());
        assertEquals(java.util.List.of(C, H, W), java.util.Arrays.stream(g.inputShape()).boxed().toList());
        Random r = new Random(3);
        float[] x = new float[N * C * H * W];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] ours = Fp32Engine.run(g, x, N);
        INDArray in = Nd4j.create(x, new long[] {N, (long) C * H * W});
        float[] theirs = cg.outputSingle(in).dup('c').data().asFloat();
        int k = ours.length / N;
        assertEquals(theirs.length, ours.length);
        if (softmax) {
            for (int n = 0; n < N; n++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < k; j++) {
                    max = Math.max(max, ours[n * k + j]);
                }
                for (int j = 0; j < k; j++) {
                    sum += Math.exp(ours[n * k + j] - max);
                }
                for (int j = 0; j < k; j++) {
                    ours[n * k + j] = (float) (Math.exp(ours[n * k + j] - max) / sum);
                }
            }
        }
        double scale = 0;
        for (float v : theirs) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(scale > 1e-3, "outputs not trivial");
        for (int i = 0; i < ours.length; i++) {
            assertEquals(theirs[i], ours[i], 1e-4 * scale, "output " + i);
        }
        return g;
    }

    /** Non-trivial BN parameters and running statistics (either parameterization). */
    private static void randomize(org.deeplearning4j.nn.api.Layer l, Random r) {
        set(l.getParam("gamma"), r, 0.5, 1.5);
        set(l.getParam("beta"), r, -0.5, 0.5);
        set(l.getParam("mean"), r, -0.8, 0.8);
        if (l.paramTable().containsKey("log10stdev")) {
            set(l.getParam("log10stdev"), r, -0.4, 0.3);
        } else {
            set(l.getParam("var"), r, 0.2, 2.5);
        }
    }

    private static void set(INDArray p, Random r, double lo, double hi) {
        float[] v = new float[(int) p.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        p.assign(Nd4j.create(v, p.shape()));
    }

    private static long count(Graph g, OpType op) {
        return g.nodes().stream().filter(n -> n.op() == op).count();
    }
}
