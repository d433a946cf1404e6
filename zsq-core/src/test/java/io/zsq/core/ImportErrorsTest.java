package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.nd4j.shade.protobuf.ByteString;
import io.zsq.core.imports.ModelImportException;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.OpType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad models give one clear message naming the file, the node and the remedy. */
class ImportErrorsTest {
    @TempDir
    Path dir;

    @Test
    void bundledModelsImportWithTheirBatchNorms() {
        Graph r = ModelImporter.load(Fixtures.RESNET_ONNX);
        assertEquals(9, r.nodes().stream().filter(n -> n.op() == OpType.BATCH_NORM).count());
        assertEquals(3, r.nodes().stream().filter(n -> n.op() == OpType.ADD).count());
        Graph d = ModelImporter.load(Fixtures.DL4J_CNN);
        assertEquals(3, d.nodes().stream().filter(n -> n.op() == OpType.BATCH_NORM).count());
    }

    @Test
    void malformedFile() throws Exception {
        Path f = dir.resolve("broken.onnx");
        Files.write(f, new byte[] {1, 2, 3, 4, 5, 6, 7, (byte) 0xff});
        ModelImportException e = assertThrows(ModelImportException.class, () -> ModelImporter.load(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    }

    @Test
    void unsupportedOperatorNamesTheNode() throws Exception {
        Path f = write(model(true, "Softplus"), "softplus.onnx");
        ModelImportException e = assertThrows(ModelImportException.class, () -> ModelImporter.load(f));
        assertTrue(e.getMessage().contains("node act (Softplus)"), e.getMessage());
        assertTrue(e.getMessage().contains("not supported"), e.getMessage());
    }

    @Test
    void modelWithoutBatchNormStatisticsSaysHowToReExport() throws Exception {
        Path f = write(model(false, "Relu"), "folded.onnx");
        ModelImportException e = assertThrows(ModelImportException.class, () -> ModelImporter.load(f));
        assertTrue(e.getMessage().contains("no BatchNormalization"), e.getMessage());
        assertTrue(e.getMessage().contains("TrainingMode.PRESERVE"), e.getMessage());
    }

    @Test
    void tinyModelImports() throws Exception {
        Graph g = ModelImporter.load(write(model(true, "Relu"), "ok.onnx"));
        assertEquals(3, g.nodes().size());
    }

    private Path write(Onnx.ModelProto m, String name) throws Exception {
        Path f = dir.resolve(name);
        Files.write(f, m.toByteArray());
        return f;
    }

    /** input [N,1,4,4] -> Conv 1->2 3x3 [-> BatchNormalization] -> activation op. */
    static Onnx.ModelProto model(boolean withBn, String act) {
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("t");
        g.addInput(value("x", 1, 1, 4, 4));
        g.addOutput(value("y", 1, 2, 2, 2));
        g.addInitializer(floats("w", new long[] {2, 1, 3, 3}, 18));
        g.addNode(Onnx.NodeProto.newBuilder().setName("conv").setOpType("Conv").addInput("x").addInput("w").addOutput("c"));
        String last = "c";
        if (withBn) {
            for (String p : new String[] {"s", "b", "m", "v"}) {
                g.addInitializer(floats(p, new long[] {2}, 2));
            }
            g.addNode(Onnx.NodeProto.newBuilder().setName("bn").setOpType("BatchNormalization")
                    .addInput("c").addInput("s").addInput("b").addInput("m").addInput("v").addOutput("n"));
            last = "n";
        }
        g.addNode(Onnx.NodeProto.newBuilder().setName("act").setOpType(act).addInput(last).addOutput("y"));
        return Onnx.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).build();
    }

    static Onnx.ValueInfoProto value(String name, long... dims) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    static Onnx.TensorProto floats(String name, long[] dims, int n) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat(0.5f + 0.1f * i);
        }
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(1).setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }
}
