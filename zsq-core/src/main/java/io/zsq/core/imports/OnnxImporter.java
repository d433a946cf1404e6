package io.zsq.core.imports;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import onnx.Onnx;

/**
 * ONNX to IR. Reads the protobuf with the classes inside nd4j-api. Supported (default domain, opset
 * 11-18): Conv (grouped, depthwise), BatchNormalization, Relu, Clip, Add, MaxPool, AveragePool,
 * GlobalAveragePool, Flatten, Reshape (to [N, -1]), Gemm, MatMul (+ Add of a constant as its bias),
 * Identity, Constant.
 */
public final class OnnxImporter {
    static final String SUPPORTED = "Conv, BatchNormalization, Relu, Clip, Add, MaxPool, AveragePool, GlobalAveragePool, "
            + "Flatten, Reshape, Gemm, MatMul, Identity, Constant";

    private final Path file;
    private final Map<String, Tensor> constants = new HashMap<>();
    private final Map<String, String> alias = new HashMap<>();
    private final List<Node> nodes = new ArrayList<>();

    private OnnxImporter(Path file) {
        this.file = file;
    }

    public static Graph load(Path file) {
        Onnx.ModelProto model;
        try {
            model = Onnx.ModelProto.parseFrom(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ModelImportException(file + ": not a readable ONNX model (" + e.getMessage() + ")", e);
        }
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
            throw new ModelImportException(file + ": not an ONNX model (no graph, or a graph without nodes)");
        }
        return new OnnxImporter(file).convert(model);
    }

    private Graph convert(Onnx.ModelProto model) {
        long opset = -1;
        for (Onnx.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                opset = o.getVersion();
            }
        }
        if (opset < 11 || opset > 18) {
            throw new ModelImportException(file + ": ONNX opset " + opset + " is not supported; re-export with opset 11 to 18 "
                    + "(torch.onnx.export(..., opset_version=13))");
        }
        Onnx.GraphProto g = model.getGraph();
        for (Onnx.TensorProto t : g.getInitializerList()) {
            constants.put(t.getName(), tensor(t, "initializer " + t.getName()));
        }
        List<String> inputs = new ArrayList<>();
        int[] inputShape = null;
        for (Onnx.ValueInfoProto v : g.getInputList()) {
            if (constants.containsKey(v.getName())) {
                continue;
            }
            inputs.add(v.getName());
            List<Onnx.TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
            inputShape = new int[dims.size() - 1];
            for (int i = 1; i < dims.size(); i++) {
                if (!dims.get(i).hasDimValue()) {
                    throw new ModelImportException(file + ": input '" + v.getName() + "' has a symbolic dimension " + i
                            + "; zsq needs fixed [N, C, H, W] or [N, F] inputs with only the batch dimension free");
                }
                inputShape[i - 1] = (int) dims.get(i).getDimValue();
            }
        }
        if (inputs.size() != 1) {
            throw new ModelImportException(file + ": zsq handles models with one input; this one has " + inputs);
        }
        if (g.getOutputCount() != 1) {
            throw new ModelImportException(file + ": zsq handles models with one output; this one has " + g.getOutputCount());
        }
        int index = 0;
        Set<String> ids = new HashSet<>();
        for (Onnx.NodeProto n : g.getNodeList()) {
            String id = n.getName().isEmpty() ? n.getOpType() + "_" + index : n.getName();
            while (!ids.add(id)) {
                id = id + "_" + index;
            }
            index++;
            try {
                node(n, id);
            } catch (ModelImportException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ModelImportException(file + ": node " + id + " (" + n.getOpType() + "): " + e.getMessage(), e);
            }
        }
        String out = resolve(g.getOutput(0).getName());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("source.format", "onnx");
        meta.put("source.opset", Long.toString(opset));
        meta.put("source.producer", model.getProducerName() + " " + model.getProducerVersion());
        try {
            return Graph.of(inputs.get(0), inputShape, out, nodes, Set.of(), meta);
        } catch (IllegalArgumentException e) {
            throw new ModelImportException(file + ": " + e.getMessage(), e);
        }
    }

    private void node(Onnx.NodeProto n, String id) {
        String op = n.getOpType();
        if (!n.getDomain().isEmpty() && !n.getDomain().equals("ai.onnx")) {
            throw err(id, op, "operator domain '" + n.getDomain() + "' is not supported");
        }
        String out = n.getOutput(0);
        switch (op) {
            case "Constant": {
                for (Onnx.AttributeProto a : n.getAttributeList()) {
                    if (a.getName().equals("value")) {
                        constants.put(out, tensor(a.getT(), "node " + id));
                        return;
                    }
                }
                throw err(id, op, "only a Constant with a 'value' tensor is supported");
            }
            case "Identity": {
                String in = n.getInput(0);
                if (constants.containsKey(in)) {
                    constants.put(out, constants.get(in));
                } else {
                    alias.put(out, resolve(in));
                }
                return;
            }
            case "Conv": {
                Map<String, Tensor> p = new LinkedHashMap<>();
                p.put("W", constant(n, 1, id));
                if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                    p.put("B", constant(n, 2, id));
                }
                Tensor w = p.get("W");
                if (w.shape().length != 4) {
                    throw err(id, op, "only 2-D convolutions are supported (weights " + java.util.Arrays.toString(w.shape()) + ")");
                }
                checkAutoPad(n, id);
                int[] dil = ints(n, "dilations", new int[] {1, 1});
                if (dil[0] != 1 || dil[1] != 1) {
                    throw err(id, op, "dilated convolutions are not supported");
                }
                Map<String, int[]> a = new LinkedHashMap<>();
                a.put("strides", ints(n, "strides", new int[] {1, 1}));
                a.put("pads", ints(n, "pads", new int[] {0, 0, 0, 0}));
                a.put("group", new int[] {(int) attr(n, "group", 1)});
                add(id, OpType.CONV, n.getInput(0), out, a, Map.of(), p);
                return;
            }
            case "BatchNormalization": {
                if (attr(n, "training_mode", 0) != 0) {
                    throw err(id, op, "exported in training mode; export the model in eval mode");
                }
                Map<String, Tensor> p = new LinkedHashMap<>();
                p.put("scale", constant(n, 1, id));
                p.put("bias", constant(n, 2, id));
                p.put("mean", constant(n, 3, id));
                p.put("var", constant(n, 4, id));
                add(id, OpType.BATCH_NORM, n.getInput(0), out, Map.of(), Map.of("epsilon", fattr(n, "epsilon", 1e-5f)), p);
                return;
            }
            case "Relu":
                add(id, OpType.RELU, n.getInput(0), out, Map.of(), Map.of(), Map.of());
                return;
            case "Clip": {
                float lo = n.getInputCount() > 1 && !n.getInput(1).isEmpty() ? constant(n, 1, id).data()[0] : Float.NEGATIVE_INFINITY;
                float hi = n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? constant(n, 2, id).data()[0] : Float.POSITIVE_INFINITY;
                add(id, OpType.CLIP, n.getInput(0), out, Map.of(), Map.of("min", lo, "max", hi), Map.of());
                return;
            }
            case "Add": {
                boolean c0 = constants.containsKey(n.getInput(0)), c1 = constants.containsKey(n.getInput(1));
                if (!c0 && !c1) {
                    nodes.add(new Node(id, OpType.ADD, List.of(resolve(n.getInput(0)), resolve(n.getInput(1))), out, Map.of(), Map.of(), Map.of()));
                    return;
                }
                Tensor b = constants.get(n.getInput(c1 ? 1 : 0));
                String x = resolve(n.getInput(c1 ? 0 : 1));
                Node prev = nodes.isEmpty() ? null : nodes.get(nodes.size() - 1);
                if (prev != null && prev.op() == OpType.DENSE && prev.output().equals(x) && prev.param("B") == null
                        && b.data().length == prev.param("W").dim(0)) {
                    Map<String, Tensor> p = new LinkedHashMap<>(prev.params());
                    p.put("B", new Tensor(new int[] {b.data().length}, b.data()));
                    nodes.set(nodes.size() - 1, prev.withParams(p).withOutput(out));
                    return;
                }
                throw err(id, op, "adding a constant is supported only as the bias of a preceding MatMul");
            }
            case "MaxPool":
            case "AveragePool": {
                checkAutoPad(n, id);
                if (attr(n, "ceil_mode", 0) != 0) {
                    throw err(id, op, "ceil_mode=1 is not supported; use ceil_mode=False");
                }
                Map<String, int[]> a = new LinkedHashMap<>();
                a.put("kernel", ints(n, "kernel_shape", null));
                a.put("strides", ints(n, "strides", new int[] {1, 1}));
                a.put("pads", ints(n, "pads", new int[] {0, 0, 0, 0}));
                if (op.equals("AveragePool")) {
                    a.put("countIncludePad", new int[] {(int) attr(n, "count_include_pad", 0)});
                } else if (n.getOutputCount() > 1 && !n.getOutput(1).isEmpty()) {
                    throw err(id, op, "the Indices output is not supported");
                }
                add(id, op.equals("MaxPool") ? OpType.MAX_POOL : OpType.AVG_POOL, n.getInput(0), out, a, Map.of(), Map.of());
                return;
            }
            case "GlobalAveragePool":
                add(id, OpType.GLOBAL_AVG_POOL, n.getInput(0), out, Map.of(), Map.of(), Map.of());
                return;
            case "Flatten":
                if (attr(n, "axis", 1) != 1) {
                    throw err(id, op, "only axis=1 is supported");
                }
                add(id, OpType.FLATTEN, n.getInput(0), out, Map.of(), Map.of(), Map.of());
                return;
            case "Reshape": {
                float[] s = constant(n, 1, id).data();
                if (s.length != 2 || !(s[1] == -1 || s[0] == -1 || s[0] == 0)) {
                    throw err(id, op, "only a reshape to [N, -1] (flatten) is supported, not " + java.util.Arrays.toString(s));
                }
                add(id, OpType.FLATTEN, n.getInput(0), out, Map.of(), Map.of(), Map.of());
                return;
            }
            case "Gemm": {
                if (attr(n, "transA", 0) != 0 || fattr(n, "alpha", 1f) != 1f || fattr(n, "beta", 1f) != 1f) {
                    throw err(id, op, "only Gemm with transA=0, alpha=1, beta=1 is supported");
                }
                Tensor w = constant(n, 1, id);
                if (attr(n, "transB", 0) == 0) {
                    w = transpose(w);
                }
                Map<String, Tensor> p = new LinkedHashMap<>();
                p.put("W", w);
                if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                    Tensor b = constant(n, 2, id);
                    p.put("B", new Tensor(new int[] {b.data().length}, b.data()));
                }
                add(id, OpType.DENSE, n.getInput(0), out, Map.of(), Map.of(), p);
                return;
            }
            case "MatMul": {
                Tensor w = constant(n, 1, id);
                if (w.shape().length != 2) {
                    throw err(id, op, "only MatMul by a 2-D constant matrix is supported");
                }
                add(id, OpType.DENSE, n.getInput(0), out, Map.of(), Map.of(), Map.of("W", transpose(w)));
                return;
            }
            default:
                throw err(id, op, "operator not supported by zsq (supported: " + SUPPORTED + ")");
        }
    }

    private void add(String id, OpType op, String in, String out, Map<String, int[]> ints, Map<String, Float> floats,
                     Map<String, Tensor> params) {
        if (constants.containsKey(in)) {
            throw err(id, op.name(), "its input '" + in + "' is a constant; constant folding is not supported");
        }
        nodes.add(new Node(id, op, List.of(resolve(in)), out, ints, floats, params));
    }

    private String resolve(String name) {
        return alias.getOrDefault(name, name);
    }

    private Tensor constant(Onnx.NodeProto n, int i, String id) {
        Tensor t = i < n.getInputCount() ? constants.get(n.getInput(i)) : null;
        if (t == null) {
            throw err(id, n.getOpType(), "input " + i + " must be a constant (initializer)");
        }
        return t;
    }

    private void checkAutoPad(Onnx.NodeProto n, String id) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("auto_pad") && !a.getS().toStringUtf8().equals("NOTSET")) {
                throw err(id, n.getOpType(), "auto_pad=" + a.getS().toStringUtf8() + " is not supported; export explicit pads");
            }
        }
    }

    private ModelImportException err(String id, String op, String what) {
        return new ModelImportException(file + ": node " + id + " (" + op + "): " + what);
    }

    private static long attr(Onnx.NodeProto n, String name, long dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return dflt;
    }

    private static float fattr(Onnx.NodeProto n, String name, float dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getF();
            }
        }
        return dflt;
    }

    private static int[] ints(Onnx.NodeProto n, String name, int[] dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                int[] v = new int[a.getIntsCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (int) a.getInts(i);
                }
                return v;
            }
        }
        if (dflt == null) {
            throw new IllegalArgumentException("attribute " + name + " is required");
        }
        return dflt;
    }

    static Tensor transpose(Tensor w) {
        int r = w.dim(0), c = w.dim(1);
        float[] t = new float[r * c];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                t[j * r + i] = w.data()[i * c + j];
            }
        }
        return new Tensor(new int[] {c, r}, t);
    }

    private Tensor tensor(Onnx.TensorProto t, String what) {
        int[] shape = new int[t.getDimsCount()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = (int) t.getDims(i);
        }
        int n = Tensor.size(shape);
        float[] v = new float[n];
        int type = t.getDataType();
        ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        boolean hasRaw = !t.getRawData().isEmpty();
        if (type == Onnx.TensorProto.DataType.FLOAT_VALUE) {
            for (int i = 0; i < n; i++) {
                v[i] = hasRaw ? raw.getFloat(i * 4) : t.getFloatData(i);
            }
        } else if (type == Onnx.TensorProto.DataType.INT64_VALUE) {
            for (int i = 0; i < n; i++) {
                v[i] = hasRaw ? raw.getLong(i * 8) : t.getInt64Data(i);
            }
        } else if (type == Onnx.TensorProto.DataType.DOUBLE_VALUE) {
            for (int i = 0; i < n; i++) {
                v[i] = (float) (hasRaw ? raw.getDouble(i * 8) : t.getDoubleData(i));
            }
        } else {
            throw new ModelImportException(file + ": " + what + ": tensor data type " + type + " is not supported (float32, float64, int64)");
        }
        if (shape.length == 0) {
            shape = new int[] {1};
        }
        return new Tensor(shape, v);
    }
}
