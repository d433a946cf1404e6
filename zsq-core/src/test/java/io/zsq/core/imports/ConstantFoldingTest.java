package io.zsq.core.imports;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.nd4j.shade.protobuf.ByteString;

/**
 * Every op the importer folds, on constant inputs, against ONNX Runtime evaluating the same one-node
 * model: the values, the shape and the type must agree (int64 and bool exactly, float to 1e-6).
 */
class ConstantFoldingTest {
    static final int F = Const.FLOAT, L = Const.INT64, B = Const.BOOL;

    record Case(String op, List<Const> inputs, List<Onnx.AttributeProto> attrs, int opset) {}

    static Const c(int type, long[] dims, double... v) {
        return new Const(type, dims, v);
    }

    static long[] d(long... x) {
        return x;
    }

    static Onnx.AttributeProto ai(String name, long v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(v).build();
    }

    static Onnx.AttributeProto ais(String name, long... v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    static Case k(String op, int opset, List<Onnx.AttributeProto> attrs, Const... in) {
        return new Case(op, List.of(in), attrs, opset);
    }

    @Test
    void everyFoldedOpAgreesWithOnnxRuntime() throws Exception {
        Const m = c(F, d(2, 3), 1.5, -2.25, 3, 0.5, -7, 4);
        Const li = c(L, d(2, 3), 7, -7, 9, 2, -3, 12);
        Const lj = c(L, d(3), 2, 3, -4);
        List<Case> cases = new ArrayList<>(List.of(
                k("Shape", 13, List.of(), m),
                k("Shape", 15, List.of(ai("start", 1)), c(F, d(2, 3, 4), new double[24])),
                k("Size", 13, List.of(), m),
                k("Gather", 13, List.of(ai("axis", 0)), li, c(L, d(2), 1, -2)),
                k("Gather", 13, List.of(ai("axis", 1)), m, c(L, d(), 2)),
                k("Unsqueeze", 13, List.of(), lj, c(L, d(2), 0, -1)),
                k("Unsqueeze", 11, List.of(ais("axes", 1)), lj),
                k("Squeeze", 13, List.of(), c(L, d(1, 3, 1), 4, 5, 6), c(L, d(1), 2)),
                k("Squeeze", 13, List.of(), c(L, d(1, 3, 1), 4, 5, 6)),
                k("Concat", 13, List.of(ai("axis", 0)), lj, c(L, d(2), 8, 9)),
                k("Concat", 13, List.of(ai("axis", -1)), li, c(L, d(2, 1), 1, 2)),
                k("Cast", 13, List.of(ai("to", L)), c(F, d(4), -2.7, 2.7, 0.5, -0.5)),
                k("Cast", 13, List.of(ai("to", F)), lj),
                k("Cast", 13, List.of(ai("to", B)), c(F, d(3), 0, 2, -1)),
                k("ConstantOfShape", 13, List.of(), c(L, d(2), 2, 3)),
                k("Range", 13, List.of(), c(L, d(), 1), c(L, d(), 10), c(L, d(), 3)),
                k("Range", 13, List.of(), c(F, d(), 1), c(F, d(), -2), c(F, d(), -0.75)),
                k("Add", 13, List.of(), li, lj),
                k("Sub", 13, List.of(), lj, c(L, d(), 5)),
                k("Mul", 13, List.of(), m, c(F, d(3), 2, -1, 0.5)),
                k("Div", 13, List.of(), li, c(L, d(), 2)),
                k("Div", 13, List.of(), m, c(F, d(), 4)),
                k("Mod", 13, List.of(), li, c(L, d(), 5)),
                k("Pow", 13, List.of(), c(F, d(3), 2, 3, 4), c(F, d(), 2)),
                k("Min", 13, List.of(), li, lj),
                k("Max", 13, List.of(), li, lj),
                k("Equal", 13, List.of(), lj, c(L, d(), 3)),
                k("Less", 13, List.of(), li, lj),
                k("Greater", 13, List.of(), m, c(F, d(), 0)),
                k("Where", 13, List.of(), c(B, d(3), 1, 0, 1), lj, c(L, d(), -1)),
                k("Not", 13, List.of(), c(B, d(3), 1, 0, 1)),
                k("Neg", 13, List.of(), lj),
                k("Abs", 13, List.of(), m),
                k("Sqrt", 13, List.of(), c(F, d(3), 4, 2, 9)),
                k("Floor", 13, List.of(), m),
                k("Ceil", 13, List.of(), m),
                k("Reciprocal", 13, List.of(), c(F, d(2), 4, -0.5)),
                k("Slice", 13, List.of(), c(L, d(6), 0, 1, 2, 3, 4, 5), c(L, d(1), 1), c(L, d(1), Long.MAX_VALUE), c(L, d(1), 0), c(L, d(1), 2)),
                k("Slice", 13, List.of(), c(L, d(6), 0, 1, 2, 3, 4, 5), c(L, d(1), -1), c(L, d(1), Long.MIN_VALUE), c(L, d(1), 0),
                        c(L, d(1), -2)),
                k("Slice", 13, List.of(), li, c(L, d(2), 0, -2), c(L, d(2), 1, 3), c(L, d(2), 0, 1), c(L, d(2), 1, 1)),
                k("Reshape", 13, List.of(), c(L, d(6), 1, 2, 3, 4, 5, 6), c(L, d(3), -1, 2, 1)),
                k("Reshape", 13, List.of(), li, c(L, d(2), 0, -1)),
                k("Reshape", 13, List.of(), li, c(L, d(2), 3, 2)),
                k("Transpose", 13, List.of(ais("perm", 1, 0)), li),
                k("Transpose", 13, List.of(), c(F, d(2, 3, 2), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)),
                k("Expand", 13, List.of(), c(L, d(3, 1), 1, 2, 3), c(L, d(3), 2, 3, 4)),
                k("Flatten", 13, List.of(ai("axis", 2)), c(F, d(2, 3, 2), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)),
                k("Identity", 13, List.of(), lj)));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (Case cs : cases) {
            Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(cs.op()).setName("n").addOutput("y").addAllAttribute(cs.attrs());
            Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("fold");
            for (int i = 0; i < cs.inputs().size(); i++) {
                g.addInitializer(proto("i" + i, cs.inputs().get(i)));
                n.addInput("i" + i);
            }
            Const[] in = cs.inputs().toArray(Const[]::new);
            Const ours = ConstantFolding.fold(n.build(), in, cs.opset())[0];
            g.addNode(n);
            g.addOutput(Onnx.ValueInfoProto.newBuilder().setName("y").setType(Onnx.TypeProto.newBuilder()
                    .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(ours.type()))));
            byte[] model = Onnx.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                    .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(cs.opset())).build().toByteArray();
            String what = cs.op() + " " + cs.attrs().stream().map(a -> a.getName()).toList();
            try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions()); OrtSession.Result r = s.run(java.util.Map.of())) {
                OnnxTensor t = (OnnxTensor) r.get(0);
                TensorInfo info = t.getInfo();
                assertArrayEquals(info.getShape(), ours.dims(), what + ": shape");
                double[] want = values(t, ours.type());
                assertEquals(want.length, ours.size(), what);
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], ours.v()[i], ours.integral() ? 0 : 1e-6 * Math.abs(want[i]), what + " value " + i);
                }
            }
        }
    }

    static double[] values(OnnxTensor t, int type) {
        int n = (int) t.getInfo().getNumElements();
        double[] v = new double[n];
        if (type == L) {
            java.nio.LongBuffer b = t.getLongBuffer();
            for (int i = 0; i < n; i++) {
                v[i] = b.get(i);
            }
        } else if (type == F) {
            java.nio.FloatBuffer b = t.getFloatBuffer();
            for (int i = 0; i < n; i++) {
                v[i] = b.get(i);
            }
        } else {
            ByteBuffer b = t.getByteBuffer();
            for (int i = 0; i < n; i++) {
                v[i] = b.get(i) != 0 ? 1 : 0;
            }
        }
        return v;
    }

    static Onnx.TensorProto proto(String name, Const c) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(c.type());
        for (long x : c.dims()) {
            t.addDims(x);
        }
        int w = c.type() == L ? 8 : c.type() == F ? 4 : 1;
        ByteBuffer b = ByteBuffer.allocate(w * c.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : c.v()) {
            if (c.type() == L) {
                b.putLong(x >= 9.2e18 ? Long.MAX_VALUE : x <= -9.2e18 ? Long.MIN_VALUE : (long) x);
            } else if (c.type() == F) {
                b.putFloat((float) x);
            } else {
                b.put((byte) (x != 0 ? 1 : 0));
            }
        }
        return t.setRawData(ByteString.copyFrom(b.array())).build();
    }
}
