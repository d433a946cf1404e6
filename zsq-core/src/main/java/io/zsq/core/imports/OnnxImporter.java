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
 * ONNX to IR. Reads the protobuf with the classes inside nd4j-api. Opsets 7 to 21 of the default
 * domain. Every node whose inputs are all constants (initializers, Constant nodes, folded results, and
 * the shapes of tensors whose shape is static) is evaluated first ({@link ConstantFolding}), so the shape
 * arithmetic exporters write disappears generically. Layers: Conv (grouped, depthwise),
 * BatchNormalization, Relu, Clip, Add, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape (to
 * [N, -1]), Gemm, MatMul (+ Add of a constant as its bias), Slice (strided, not on the batch axis),
 * Pad (constant zeros), Identity, Dropout (inference: identity), hard swish written out as
 * {@code x * Clip(x + 3, 0, 6) / 6} (one HARD_SWISH), a Softmax at the output (dropped: the logits are
 * the output). Input dimensions the model leaves symbolic (a dynamic height and width) take the size
 * given to {@link #load(Path, int[])} ({@code --input-shape}).
 */
public final class OnnxImporter {
    static final String SUPPORTED = "Conv, BatchNormalization, Relu, Clip, Add, MaxPool, AveragePool, GlobalAveragePool, "
            + "Flatten, Reshape, Gemm, MatMul, Slice, Pad, Identity, Dropout, Mul, Sub, Div/Add/Mul/Sub by a per-channel constant (folded), Softmax as the last node (dropped), ReduceMean over H and W, Sigmoid, HardSigmoid, HardSwish (also as x * Clip(x + 3, 0, 6) / 6), Concat (channels), Constant, and shape arithmetic on constants ("
            + String.join(", ", new java.util.TreeSet<>(ConstantFolding.FOLDABLE)) + ")";
    static final int MIN_OPSET = 7, MAX_OPSET = 21;

    private final Path file;
    private final Map<String, Tensor> constants = new HashMap<>();
    /** Exact values of constants used by folding (made from {@link #constants} when first needed). */
    private final Map<String, Const> values = new HashMap<>();
    private final Map<String, String> alias = new HashMap<>();
    private final List<Node> nodes = new ArrayList<>();
    private long opset;
    private String inputName;
    private int[] inputShape;
    private String graphOutput;
    private String droppedSoftmax;
    /** How many node inputs (and graph outputs) read each tensor name of the ONNX graph. */
    private final Map<String, Integer> reads = new HashMap<>();

    private final int[] givenShape;
    /** The ONNX nodes, who makes and who reads each tensor (for recognizing patterns), and the nodes already taken by one. */
    private List<Onnx.NodeProto> graphNodes;
    private final Map<String, Integer> producer = new HashMap<>();
    private final Map<String, List<Integer>> consumers = new HashMap<>();
    private final Set<Integer> fused = new HashSet<>();
    private int current;

    private OnnxImporter(Path file, int[] givenShape) {
        this.file = file;
        this.givenShape = givenShape == null ? null : givenShape.clone();
    }

    public static Graph load(Path file) {
        return load(file, null);
    }

    /**
     * Reads {@code file}; {@code inputShape} ({@code [C, H, W]} or {@code [F]}, or null) gives the input
     * dimensions the model leaves symbolic (a dynamic height and width); a fixed dimension it contradicts
     * is refused.
     */
    public static Graph load(Path file, int[] inputShape) {
        Onnx.ModelProto model;
        try {
            model = Onnx.ModelProto.parseFrom(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ModelImportException(file + ": not a readable ONNX model (" + e.getMessage() + ")", e);
        }
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
            throw new ModelImportException(file + ": not an ONNX model (no graph, or a graph without nodes)");
        }
        return new OnnxImporter(file, inputShape).convert(model);
    }

    private Graph convert(Onnx.ModelProto model) {
        long opset = -1;
        for (Onnx.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                opset = o.getVersion();
            }
        }
        if (opset < MIN_OPSET || opset > MAX_OPSET) {
            throw new ModelImportException(file + ": ONNX opset " + opset + " is not supported; re-export with opset " + MIN_OPSET + " to "
                    + MAX_OPSET + " (torch.onnx.export(..., opset_version=13))");
        }
        this.opset = opset;
        Onnx.GraphProto g = model.getGraph();
        for (Onnx.TensorProto t : g.getInitializerList()) {
            putConstant(t.getName(), t, "initializer " + t.getName());
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
            if (givenShape != null && givenShape.length != inputShape.length) {
                throw new ModelImportException(file + ": --input-shape " + InputShapes.format(givenShape) + " has " + givenShape.length
                        + " dimensions, but input '" + v.getName() + "' has " + inputShape.length + " besides the batch");
            }
            for (int i = 1; i < dims.size(); i++) {
                if (dims.get(i).hasDimValue()) {
                    inputShape[i - 1] = (int) dims.get(i).getDimValue();
                    if (givenShape != null && givenShape[i - 1] != inputShape[i - 1]) {
                        throw new ModelImportException(file + ": --input-shape " + InputShapes.format(givenShape) + " contradicts input '"
                                + v.getName() + "' of fixed dimension " + i + " = " + inputShape[i - 1]);
                    }
                } else if (givenShape != null) {
                    inputShape[i - 1] = givenShape[i - 1];
                } else {
                    throw new ModelImportException(file + ": input '" + v.getName() + "' has a symbolic dimension " + i + " ('"
                            + dims.get(i).getDimParam() + "'); give the input size with --input-shape CxHxW (e.g. 3x48x192)");
                }
            }
        }
        if (inputs.size() != 1) {
            throw new ModelImportException(file + ": zsq handles models with one input; this one has " + inputs);
        }
        inputName = inputs.get(0);
        this.inputShape = inputShape;
        if (g.getOutputCount() != 1) {
            throw new ModelImportException(file + ": zsq handles models with one output; this one has " + g.getOutputCount());
        }
        graphOutput = g.getOutput(0).getName();
        reads.merge(graphOutput, 1, Integer::sum);
        for (Onnx.NodeProto n : g.getNodeList()) {
            n.getInputList().forEach(in -> reads.merge(in, 1, Integer::sum));
        }
        graphNodes = g.getNodeList();
        for (int i = 0; i < graphNodes.size(); i++) {
            for (String o : graphNodes.get(i).getOutputList()) {
                producer.put(o, i);
            }
            for (String in : graphNodes.get(i).getInputList()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
            }
        }
        int index = 0;
        Set<String> ids = new HashSet<>();
        for (Onnx.NodeProto n : g.getNodeList()) {
            String id = n.getName().isEmpty() ? n.getOpType() + "_" + index : n.getName();
            while (!ids.add(id)) {
                id = id + "_" + index;
            }
            current = index;
            index++;
            if (fused.contains(current)) {
                continue;
            }
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
        if (droppedSoftmax != null) {
            meta.put("source.droppedSoftmax", droppedSoftmax);
        }
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
        if (fold(n, id)) {
            return;
        }
        switch (op) {
            case "Constant": {
                for (Onnx.AttributeProto a : n.getAttributeList()) {
                    if (a.getName().equals("value")) {
                        putConstant(out, a.getT(), "node " + id);
                        return;
                    }
                    if (a.getName().equals("value_float") || a.getName().equals("value_int")) {
                        put(out, Const.scalar(a.getName().equals("value_int") ? Const.INT64 : Const.FLOAT,
                                a.getName().equals("value_int") ? a.getI() : a.getF()));
                        return;
                    }
                    if (a.getName().equals("value_floats") || a.getName().equals("value_ints")) {
                        boolean f = a.getName().equals("value_floats");
                        double[] v = new double[f ? a.getFloatsCount() : a.getIntsCount()];
                        for (int i = 0; i < v.length; i++) {
                            v[i] = f ? a.getFloats(i) : a.getInts(i);
                        }
                        put(out, Const.vector(f ? Const.FLOAT : Const.INT64, v));
                        return;
                    }
                }
                throw err(id, op, "only a Constant with a 'value' tensor (or value_float/int[s]) is supported");
            }
            case "Identity":
            case "Dropout": { // inference: Dropout passes its input through (its mask output is not supported)
                if (op.equals("Dropout") && n.getOutputCount() > 1 && !n.getOutput(1).isEmpty()) {
                    throw err(id, op, "the mask output is not supported");
                }
                String in = n.getInput(0);
                if (constants.containsKey(in)) {
                    put(out, value(in));
                } else {
                    alias.put(out, resolve(in));
                }
                return;
            }
            case "Slice":
                slice(n, id, out);
                return;
            case "Pad":
                pad(n, id, out);
                return;
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
                float lo = n.getInputCount() > 1 && !n.getInput(1).isEmpty() ? constant(n, 1, id).data()[0]
                        : opset < 11 ? fattr(n, "min", -Float.MAX_VALUE) : Float.NEGATIVE_INFINITY;
                float hi = n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? constant(n, 2, id).data()[0]
                        : opset < 11 ? fattr(n, "max", Float.MAX_VALUE) : Float.POSITIVE_INFINITY;
                lo = lo == -Float.MAX_VALUE ? Float.NEGATIVE_INFINITY : lo;
                hi = hi == Float.MAX_VALUE ? Float.POSITIVE_INFINITY : hi;
                add(id, OpType.CLIP, n.getInput(0), out, Map.of(), Map.of("min", lo, "max", hi), Map.of());
                return;
            }
            case "Add": {
                if (hardSwish(n, id)) {
                    return;
                }
                boolean c0 = constants.containsKey(n.getInput(0)), c1 = constants.containsKey(n.getInput(1));
                if (!c0 && !c1) {
                    nodes.add(new Node(id, OpType.ADD, List.of(resolve(n.getInput(0)), resolve(n.getInput(1))), out, Map.of(), Map.of(), Map.of()));
                    return;
                }
                foldConstant(n, id, out);
                return;
            }
            case "Sub":
            case "Div":
                if (!constants.containsKey(n.getInput(0)) && !constants.containsKey(n.getInput(1))) {
                    if (op.equals("Div")) {
                        throw err(id, op, "dividing by an activation is not supported");
                    }
                    nodes.add(new Node(id, OpType.SUB, List.of(resolve(n.getInput(0)), resolve(n.getInput(1))), out, Map.of(), Map.of(),
                            Map.of()));
                    return;
                }
                foldConstant(n, id, out);
                return;
            case "Mul":
                mul(n, id, out);
                return;
            case "Softmax": {
                // the model's last node only: softmax keeps the argmax, so the integer model outputs its logits
                String in = resolve(n.getInput(0));
                int[] shape = io.zsq.core.ir.ShapeInference.infer(inputName, inputShape, nodes).get(in);
                long axis = attr(n, "axis", opset < 13 ? 1 : -1);
                boolean classes = shape != null && shape.length == 1 && (axis == 1 || axis == -1);
                if (!out.equals(graphOutput) || !classes) {
                    throw err(id, op, "Softmax is supported only as the model's last node, over the classes of an [N, K] output "
                            + "(it is dropped: the argmax is unchanged and the integer model outputs the logits)");
                }
                alias.put(out, in);
                droppedSoftmax = id;
                return;
            }
            case "Sigmoid":
                add(id, OpType.SIGMOID, n.getInput(0), out, Map.of(), Map.of(), Map.of());
                return;
            case "HardSigmoid":
                add(id, OpType.HARD_SIGMOID, n.getInput(0), out, Map.of(), Map.of("alpha", fattr(n, "alpha", 0.2f),
                        "beta", fattr(n, "beta", 0.5f)), Map.of());
                return;
            case "HardSwish":
                add(id, OpType.HARD_SWISH, n.getInput(0), out, Map.of(), Map.of(), Map.of());
                return;
            case "Concat": {
                List<String> ins = new ArrayList<>();
                for (String in : n.getInputList()) {
                    if (constants.containsKey(in)) {
                        throw err(id, op, "concatenating a constant ('" + in + "') with activations is not supported");
                    }
                    ins.add(resolve(in));
                }
                int rank = io.zsq.core.ir.ShapeInference.infer(inputName, inputShape, nodes).get(ins.get(0)).length + 1;
                long axis = attr(n, "axis", 1);
                if (axis != 1 && axis != 1 - rank) {
                    throw err(id, op, "only concatenation along channels (axis 1) is supported, not axis " + axis);
                }
                if (ins.size() == 1) {
                    alias.put(out, ins.get(0));
                    return;
                }
                nodes.add(new Node(id, OpType.CONCAT, ins, out, Map.of(), Map.of(), Map.of()));
                return;
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
            case "ReduceMean": {
                // the mean over H and W (x.mean((2, 3), keepdim=True), a squeeze-excite's pool): a global average pool
                int[] axes = n.getInputCount() > 1 && !n.getInput(1).isEmpty() ? toInts(constant(n, 1, id).data())
                        : ints(n, "axes", new int[0]);
                java.util.Set<Integer> set = new java.util.TreeSet<>();
                for (int a : axes) {
                    set.add(a < 0 ? a + 4 : a);
                }
                if (!set.equals(java.util.Set.of(2, 3))) {
                    throw err(id, op, "only the mean over H and W (axes 2 and 3 of an NCHW tensor) is supported, not axes "
                            + java.util.Arrays.toString(axes));
                }
                if (attr(n, "keepdims", 1) != 0) {
                    add(id, OpType.GLOBAL_AVG_POOL, n.getInput(0), out, Map.of(), Map.of(), Map.of());
                } else {
                    add(id, OpType.GLOBAL_AVG_POOL, n.getInput(0), out + "#pooled", Map.of(), Map.of(), Map.of());
                    nodes.add(new Node(id + "#flatten", OpType.FLATTEN, List.of(out + "#pooled"), out, Map.of(), Map.of(), Map.of()));
                }
                return;
            }
            case "Flatten":
                if (attr(n, "axis", 1) != 1) {
                    throw err(id, op, "only axis=1 is supported");
                }
                add(id, OpType.FLATTEN, n.getInput(0), out, Map.of(), Map.of(), Map.of());
                return;
            case "Reshape": {
                float[] s = constant(n, 1, id).data();
                int[] inShape = io.zsq.core.ir.ShapeInference.infer(inputName, inputShape, nodes).get(resolve(n.getInput(0)));
                // [1, F] too: a batch read with Shape stands as 1 here ({@link #shapeOf})
                boolean features = inShape != null && s.length == 2 && s[1] == Tensor.size(inShape) && (s[0] == 1 || s[0] == 0 || s[0] == -1);
                if (s.length != 2 || !(s[1] == -1 || s[0] == -1 || s[0] == 0 || features)) {
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

    /**
     * Hard swish as exporters write it, {@code x * Clip(x + 3, 0, 6) / 6} (the Div by 6 or a Mul by 1/6,
     * after or before the Mul by {@code x}), starting at the Add: one HARD_SWISH when every intermediate
     * tensor is read by the next node only. False (nothing done) for any other Add.
     */
    private boolean hardSwish(Onnx.NodeProto add, String id) {
        int ci = scalarIs(add.getInput(1), 3) ? 1 : scalarIs(add.getInput(0), 3) ? 0 : -1;
        if (ci < 0 || constants.containsKey(add.getInput(1 - ci))) {
            return false;
        }
        String x = add.getInput(1 - ci);
        Integer clip = onlyReader(add.getOutput(0));
        if (clip == null || !isClip06(graphNodes.get(clip))) {
            return false;
        }
        Integer a = onlyReader(graphNodes.get(clip).getOutput(0));
        if (a == null) {
            return false;
        }
        Integer b = onlyReader(graphNodes.get(a).getOutput(0));
        if (b == null) {
            return false;
        }
        Onnx.NodeProto na = graphNodes.get(a), nb = graphNodes.get(b);
        boolean ok = isTimes(na, x, graphNodes.get(clip).getOutput(0)) && isSixth(nb, na.getOutput(0))
                || isSixth(na, graphNodes.get(clip).getOutput(0)) && isTimes(nb, x, na.getOutput(0));
        if (!ok || nb.getOutput(0).isEmpty()) {
            return false;
        }
        fused.addAll(List.of(clip, a, b));
        add(id, OpType.HARD_SWISH, x, nb.getOutput(0), Map.of(), Map.of(), Map.of());
        return true;
    }

    /** The one node reading {@code name}, when it is not the graph output; else null. */
    private Integer onlyReader(String name) {
        List<Integer> r = consumers.getOrDefault(name, List.of());
        return r.size() == 1 && !name.equals(graphOutput) && r.get(0) > current ? r.get(0) : null;
    }

    private boolean isClip06(Onnx.NodeProto n) {
        if (!n.getOpType().equals("Clip") || !n.getDomain().isEmpty()) {
            return false;
        }
        if (opset < 11) {
            return fattr(n, "min", Float.NaN) == 0f && fattr(n, "max", Float.NaN) == 6f;
        }
        return n.getInputCount() == 3 && scalarIs(n.getInput(1), 0) && scalarIs(n.getInput(2), 6);
    }

    /** {@code n} is {@code Mul(x, other)} in either order. */
    private static boolean isTimes(Onnx.NodeProto n, String x, String other) {
        return n.getOpType().equals("Mul") && n.getInputCount() == 2
                && (n.getInput(0).equals(x) && n.getInput(1).equals(other) || n.getInput(1).equals(x) && n.getInput(0).equals(other));
    }

    /** {@code n} is {@code in / 6} or {@code in * (1/6)} (to float precision). */
    private boolean isSixth(Onnx.NodeProto n, String in) {
        if (n.getInputCount() != 2) {
            return false;
        }
        if (n.getOpType().equals("Div")) {
            return n.getInput(0).equals(in) && scalarIs(n.getInput(1), 6);
        }
        if (n.getOpType().equals("Mul")) {
            String k = n.getInput(0).equals(in) ? n.getInput(1) : n.getInput(1).equals(in) ? n.getInput(0) : null;
            Float v = k == null ? null : scalar(k);
            return v != null && Math.abs(v - 1 / 6f) <= 1e-7f;
        }
        return false;
    }

    private boolean scalarIs(String name, float v) {
        Float f = scalar(name);
        return f != null && f == v;
    }

    /**
     * The value of a one-element constant: known already, or made by a Constant node further on (the
     * pattern's nodes read constants defined between them); null for anything else.
     */
    private Float scalar(String name) {
        Tensor t = constants.get(name);
        if (t == null) {
            Integer p = producer.get(name);
            if (p == null || p <= current || !graphNodes.get(p).getOpType().equals("Constant")) {
                return null;
            }
            for (Onnx.AttributeProto a : graphNodes.get(p).getAttributeList()) {
                if (a.getName().equals("value")) {
                    t = constOf(a.getT()).tensor();
                } else if (a.getName().equals("value_float")) {
                    return a.getF();
                }
            }
        }
        return t != null && t.data().length == 1 ? t.data()[0] : null;
    }

    /**
     * ONNX Mul: of two activations (of one rank), a MUL with broadcasting; by a constant,
     * {@link #foldConstant}.
     */
    private void mul(Onnx.NodeProto n, String id, String out) {
        boolean c0 = constants.containsKey(n.getInput(0)), c1 = constants.containsKey(n.getInput(1));
        if (!c0 && !c1) {
            Map<String, int[]> shapes = io.zsq.core.ir.ShapeInference.infer(inputName, inputShape, nodes);
            String a = resolve(n.getInput(0)), b = resolve(n.getInput(1));
            int[] sa = shapes.get(a), sb = shapes.get(b);
            if (sa == null || sb == null || sa.length != sb.length) {
                throw err(id, "Mul", "inputs of one rank are needed, got " + java.util.Arrays.toString(sa) + " and "
                        + java.util.Arrays.toString(sb));
            }
            nodes.add(new Node(id, OpType.MUL, List.of(a, b), out, Map.of(), Map.of(), Map.of()));
            return;
        }
        foldConstant(n, id, out);
    }

    /**
     * {@code x * k}, {@code x / k}, {@code x + k} or {@code x - k} (either order for Mul and Add) with
     * {@code k} a constant of one value or one per channel: folded into the CONV, DENSE or BATCH_NORM
     * just before, which produces {@code x} (its weights / scale multiplied, its bias shifted), so that
     * layer writes the result. Anything else is refused naming the node.
     */
    private void foldConstant(Onnx.NodeProto n, String id, String out) {
        String op = n.getOpType();
        boolean c1 = constants.containsKey(n.getInput(1));
        if (!c1 && (op.equals("Sub") || op.equals("Div"))) {
            throw err(id, op, "a constant " + (op.equals("Sub") ? "minus" : "divided by") + " an activation is not supported");
        }
        Tensor k = constants.get(n.getInput(c1 ? 1 : 0));
        String x = resolve(n.getInput(c1 ? 0 : 1));
        Node prev = nodes.isEmpty() ? null : nodes.get(nodes.size() - 1);
        boolean layer = prev != null && prev.output().equals(x)
                && (prev.op() == OpType.CONV || prev.op() == OpType.DENSE || prev.op() == OpType.BATCH_NORM);
        String verb = switch (op) {
            case "Mul" -> "multiplying by";
            case "Div" -> "dividing by";
            case "Add" -> "adding";
            default -> "subtracting";
        };
        String refused = verb + " a constant of shape " + java.util.Arrays.toString(k.shape()) + " is supported only as one value or one "
                + "per channel, right after the convolution, dense or BatchNormalization layer producing the other input";
        if (!layer) {
            throw err(id, op, refused);
        }
        if (reads.getOrDefault(n.getInput(c1 ? 0 : 1), 0) > 1) {
            throw err(id, op, verb + " a constant is folded into the layer producing '" + n.getInput(c1 ? 0 : 1) + "', but other nodes "
                    + "read that tensor too");
        }
        boolean bn = prev.op() == OpType.BATCH_NORM;
        int c = bn ? prev.param("mean").data().length : prev.param("W").dim(0);
        int rank = io.zsq.core.ir.ShapeInference.infer(inputName, inputShape, nodes).get(x).length;
        float[] f = k.data();
        boolean dense = prev.op() == OpType.DENSE && f.length == c && k.shape().length <= 1; // a MatMul's bias, as before
        if (!(f.length == 1 || dense || (f.length == c && channelShaped(k.shape(), c, rank == 3)))) {
            throw err(id, op, refused);
        }
        float[] scale = new float[c], shift = new float[c];
        for (int o = 0; o < c; o++) {
            float v = f[f.length == 1 ? 0 : o];
            switch (op) {
                case "Mul" -> scale[o] = v;
                case "Div" -> {
                    if (v == 0) {
                        throw err(id, op, "division by zero");
                    }
                    scale[o] = 1 / v;
                }
                case "Add" -> {
                    scale[o] = 1;
                    shift[o] = v;
                }
                default -> {
                    scale[o] = 1;
                    shift[o] = -v;
                }
            }
        }
        Map<String, Tensor> p = new LinkedHashMap<>(prev.params());
        String wKey = bn ? "scale" : "W", bKey = bn ? "bias" : "B";
        Tensor w = prev.param(wKey);
        float[] nw = w.data().clone();
        int per = nw.length / c;
        for (int o = 0; o < c; o++) {
            for (int i = 0; i < per; i++) {
                nw[o * per + i] *= scale[o];
            }
        }
        p.put(wKey, new Tensor(w.shape(), nw));
        Tensor b = prev.param(bKey);
        float[] nb = b == null ? new float[c] : b.data().clone();
        for (int o = 0; o < c; o++) {
            nb[o] = nb[o] * scale[o] + shift[o];
        }
        p.put(bKey, new Tensor(new int[] {c}, nb));
        nodes.set(nodes.size() - 1, prev.withParams(p).withOutput(out));
    }

    private static int[] toInts(float[] v) {
        int[] r = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = (int) v[i];
        }
        return r;
    }

    /** A constant of one value per output channel: {@code [C]} for dense, {@code [C, 1, 1]} / {@code [1, C, 1, 1]} for conv. */
    private static boolean channelShaped(int[] s, int c, boolean conv) {
        if (!conv) {
            return s.length == 1 || (s.length == 2 && s[0] == 1);
        }
        return (s.length == 3 && s[0] == c) || (s.length == 4 && s[0] == 1 && s[1] == c);
    }

    /** Evaluates {@code n} if it is shape arithmetic on constants; true when it did. */
    private boolean fold(Onnx.NodeProto n, String id) {
        String op = n.getOpType();
        if (!ConstantFolding.FOLDABLE.contains(op)) {
            return false;
        }
        Const[] in = new Const[n.getInputCount()];
        for (int i = 0; i < in.length; i++) {
            String name = n.getInput(i);
            if (name.isEmpty()) {
                continue;
            }
            if (constants.containsKey(name)) {
                in[i] = value(name);
            } else if (op.equals("Shape") && i == 0) {
                in[i] = shapeOf(name, id);
            } else {
                return false; // a layer on activations, converted below
            }
        }
        Const[] outs = ConstantFolding.fold(n, in, opset);
        if (outs == null) {
            return false;
        }
        for (int i = 0; i < outs.length && i < n.getOutputCount(); i++) {
            put(n.getOutput(i), outs[i]);
        }
        return true;
    }

    /** A tensor of the shape of activation {@code name} ([1, C, H, W]: the batch stands as 1), for Shape to read. */
    private Const shapeOf(String name, String id) {
        int[] s = io.zsq.core.ir.ShapeInference.infer(inputName, inputShape, nodes).get(resolve(name));
        if (s == null) {
            throw err(id, "Shape", "the shape of '" + name + "' is not known");
        }
        long[] d = new long[s.length + 1];
        d[0] = 1;
        for (int i = 0; i < s.length; i++) {
            d[i + 1] = s[i];
        }
        return new Const(Const.FLOAT, d, new double[Math.toIntExact(Const.count(d))]);
    }

    /** ONNX Slice on an activation: a strided crop of C, H, W (the batch axis whole). */
    private void slice(Onnx.NodeProto n, String id, String out) {
        long[] starts, ends, axes, steps;
        if (opset < 10) {
            starts = ConstantFolding.ints(n, "starts");
            ends = ConstantFolding.ints(n, "ends");
            axes = ConstantFolding.hasAttr(n, "axes") ? ConstantFolding.ints(n, "axes") : null;
            steps = null;
        } else {
            starts = value(n, 1, id).longs();
            ends = value(n, 2, id).longs();
            axes = n.getInputCount() > 3 && !n.getInput(3).isEmpty() ? value(n, 3, id).longs() : null;
            steps = n.getInputCount() > 4 && !n.getInput(4).isEmpty() ? value(n, 4, id).longs() : null;
        }
        int[] st = {0, 0, 0}, en = {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE}, sp = {1, 1, 1};
        for (int i = 0; i < starts.length; i++) {
            long a = axes == null ? i : axes[i];
            a = a < 0 ? a + 4 : a;
            long step = steps == null ? 1 : steps[i];
            if (a == 0) {
                if (step != 1 || starts[i] != 0 || ends[i] < Integer.MAX_VALUE) {
                    throw err(id, "Slice", "slicing the batch axis is not supported");
                }
                continue;
            }
            if (a < 1 || a > 3) {
                throw err(id, "Slice", "axis " + (axes == null ? i : axes[i]) + " of a 4-D [N, C, H, W] tensor is out of range");
            }
            if (step < 1) {
                throw err(id, "Slice", "step " + step + " is not supported (steps must be positive)");
            }
            st[(int) a - 1] = clampInt(starts[i]);
            en[(int) a - 1] = clampInt(ends[i]);
            sp[(int) a - 1] = clampInt(step);
        }
        Map<String, int[]> attrs = new LinkedHashMap<>();
        attrs.put("starts", st);
        attrs.put("ends", en);
        attrs.put("steps", sp);
        add(id, OpType.SLICE, n.getInput(0), out, attrs, Map.of(), Map.of());
    }

    /** ONNX Pad on an activation: constant zeros on C, H, W. */
    private void pad(Onnx.NodeProto n, String id, String out) {
        String mode = "constant";
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("mode")) {
                mode = a.getS().toStringUtf8();
            }
        }
        if (!mode.equals("constant")) {
            throw err(id, "Pad", "mode " + mode + " is not supported (constant zeros only)");
        }
        long[] pads;
        double fill;
        long[] axes = null;
        if (opset < 11) {
            pads = ConstantFolding.ints(n, "pads");
            fill = fattr(n, "value", 0f);
        } else {
            pads = value(n, 1, id).longs();
            fill = n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? value(n, 2, id).v()[0] : 0;
            axes = n.getInputCount() > 3 && !n.getInput(3).isEmpty() ? value(n, 3, id).longs() : null;
        }
        if (fill != 0) {
            throw err(id, "Pad", "constant value " + fill + " is not supported (zero padding only)");
        }
        int k = axes == null ? 4 : axes.length;
        if (pads.length != 2 * k) {
            throw err(id, "Pad", pads.length + " pads for " + k + " axes");
        }
        int[] p = new int[6];
        for (int i = 0; i < k; i++) {
            long a = axes == null ? i : axes[i] < 0 ? axes[i] + 4 : axes[i];
            long b = pads[i], e = pads[i + k];
            if (b < 0 || e < 0) {
                throw err(id, "Pad", "negative pads (cropping) are not supported: " + java.util.Arrays.toString(pads));
            }
            if (a == 0) {
                if (b != 0 || e != 0) {
                    throw err(id, "Pad", "padding the batch axis is not supported");
                }
                continue;
            }
            if (a < 1 || a > 3) {
                throw err(id, "Pad", "axis " + a + " of a 4-D [N, C, H, W] tensor is out of range");
            }
            p[(int) a - 1] = clampInt(b);
            p[(int) a + 2] = clampInt(e);
        }
        add(id, OpType.PAD, n.getInput(0), out, Map.of("pads", p), Map.of(), Map.of());
    }

    private static int clampInt(long v) {
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
    }

    private void putConstant(String name, Onnx.TensorProto t, String what) {
        long count = 1;
        for (long d : t.getDimsList()) {
            count *= d;
        }
        if (t.getDataType() == Onnx.TensorProto.DataType.FLOAT_VALUE && count > 64) { // weights: the float tensor only
            constants.put(name, tensor(t, what));
        } else {
            try {
                put(name, constOf(t));
            } catch (IllegalArgumentException e) {
                throw new ModelImportException(file + ": " + what + ": " + e.getMessage());
            }
        }
    }

    private void put(String name, Const c) {
        values.put(name, c);
        constants.put(name, c.tensor());
    }

    private Const value(String name) {
        return values.computeIfAbsent(name, k -> Const.of(constants.get(k)));
    }

    private Const value(Onnx.NodeProto n, int i, String id) {
        if (i >= n.getInputCount() || !constants.containsKey(n.getInput(i))) {
            throw err(id, n.getOpType(), "input " + i + " must be a constant (an initializer, or computed from constants only)");
        }
        return value(n.getInput(i));
    }

    /** Any ONNX tensor of a numeric or bool type, exactly. */
    static Const constOf(Onnx.TensorProto t) {
        long[] dims = new long[t.getDimsCount()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = t.getDims(i);
        }
        long n = Const.count(dims);
        if (n < 0 || n > Integer.MAX_VALUE / 8) {
            throw new IllegalArgumentException("a tensor of shape " + java.util.Arrays.toString(dims) + " is too large");
        }
        int type = t.getDataType();
        ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        boolean hasRaw = !t.getRawData().isEmpty();
        double[] v = new double[(int) n];
        int width = switch (type) {
            case Onnx.TensorProto.DataType.FLOAT_VALUE, Onnx.TensorProto.DataType.INT32_VALUE -> 4;
            case Onnx.TensorProto.DataType.DOUBLE_VALUE, Onnx.TensorProto.DataType.INT64_VALUE -> 8;
            case Onnx.TensorProto.DataType.INT16_VALUE -> 2;
            case Onnx.TensorProto.DataType.INT8_VALUE, Onnx.TensorProto.DataType.UINT8_VALUE, Onnx.TensorProto.DataType.BOOL_VALUE -> 1;
            default -> throw new IllegalArgumentException("tensor data type " + type + " is not supported");
        };
        if (hasRaw && raw.remaining() != n * width) {
            throw new IllegalArgumentException("raw data holds " + raw.remaining() + " bytes, shape " + java.util.Arrays.toString(dims)
                    + " needs " + n * width);
        }
        for (int i = 0; i < n; i++) {
            v[i] = switch (type) {
                case Onnx.TensorProto.DataType.FLOAT_VALUE -> hasRaw ? raw.getFloat(i * 4) : t.getFloatData(i);
                case Onnx.TensorProto.DataType.DOUBLE_VALUE -> hasRaw ? raw.getDouble(i * 8) : t.getDoubleData(i);
                case Onnx.TensorProto.DataType.INT64_VALUE -> hasRaw ? raw.getLong(i * 8) : t.getInt64Data(i);
                case Onnx.TensorProto.DataType.INT32_VALUE -> hasRaw ? raw.getInt(i * 4) : t.getInt32Data(i);
                case Onnx.TensorProto.DataType.INT16_VALUE -> hasRaw ? raw.getShort(i * 2) : t.getInt32Data(i);
                case Onnx.TensorProto.DataType.INT8_VALUE -> hasRaw ? raw.get(i) : t.getInt32Data(i);
                case Onnx.TensorProto.DataType.UINT8_VALUE -> hasRaw ? raw.get(i) & 0xFF : t.getInt32Data(i);
                default -> (hasRaw ? raw.get(i) : t.getInt32Data(i)) != 0 ? 1 : 0;
            };
        }
        return new Const(type, dims, v);
    }

    private void add(String id, OpType op, String in, String out, Map<String, int[]> ints, Map<String, Float> floats,
                     Map<String, Tensor> params) {
        if (constants.containsKey(in)) {
            throw err(id, op.name(), "its input '" + in + "' is a constant, and zsq folds only shape arithmetic ("
                    + String.join(", ", new java.util.TreeSet<>(ConstantFolding.FOLDABLE)) + ") on constants");
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
