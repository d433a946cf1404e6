package io.zsq.core.export;

import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.QParams;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.Layer;
import io.zsq.runtime.TensorQuant;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import onnx.Onnx;
import org.nd4j.shade.protobuf.ByteString;

/**
 * ONNX export of an integer model, read from the {@link IntModel} itself (the deployed artifact), not
 * from the FP32 graph, so the exported file is that model. Float input {@code [N, C, H, W]} and float
 * output ({@code input} and {@code logits}, or {@code input_float} / {@code logits_float} where the
 * model's own tensors have those names); opset 13 of the default domain and opset 1 of {@code com.microsoft}.
 * <ul>
 *   <li>{@link Form#QOPERATOR}: QuantizeLinear, QLinearConv (dense layers as 1x1 QLinearConv over a
 *       {@code [N, K, 1, 1]} reshape), com.microsoft QLinearAdd, int8 MaxPool, com.microsoft
 *       QLinearGlobalAveragePool / QLinearAveragePool, int8 Slice and Pad (filled with the zero point),
 *       int8 Clip where the fused activation or a sub-8-bit grid narrows the int8 range, com.microsoft
 *       QLinearMul and QLinearConcat, int8 Expand (a broadcast input of an add), subtractions (adds
 *       with a negative second multiplier) as DequantizeLinear -> Sub -> QuantizeLinear, lookup tables as an int8 Gather of the model's own table at
 *       {@code int32(x) + 128} (exact), DequantizeLinear.
 *   <li>{@link Form#QDQ}: the float network with QuantizeLinear -> DequantizeLinear around every
 *       activation and DequantizeLinear on the int8 weights and int32 biases (per output channel), the
 *       form ONNX Runtime's optimizer turns into integer kernels; Slice and Pad (fill 0.0) on the float
 *       tensor, re-quantized with the same parameters; Mul, Concat, Sigmoid, HardSigmoid and HardSwish
 *       (as {@code x * HardSigmoid(x; 1/6, 1/2)}, opset 13 having no HardSwish) on float tensors.
 * </ul>
 * A convolution's weight scales are chosen so that {@code x_scale * w_scale[c] / y_scale} is this
 * model's requantization multiplier of channel c; ONNX Runtime forms that product in float32, so its
 * integer outputs can differ from zsq-runtime's by one step where a value lies within float rounding
 * of a rounding boundary.
 */
public final class OnnxExport {
    /** Default-domain opset of the exported files. */
    public static final int OPSET = 13;
    public static final String MS = "com.microsoft";

    public enum Form { QOPERATOR, QDQ }

    private OnnxExport() {}

    /** Writes the export to {@code out} under a temporary name, renamed when complete. */
    public static void write(IntModel m, Form form, Path out) throws IOException {
        byte[] bytes = export(m, form);
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public static byte[] export(IntModel m, Form form) {
        Builder b = new Builder(m);
        int[] in = m.inputShape();
        java.util.Set<String> taken = new java.util.HashSet<>();
        taken.add(m.inputName());
        m.layers().forEach(l -> taken.add(l.output()));
        String x = taken.contains("input") ? "input_float" : "input";
        String y = taken.contains("logits") ? "logits_float" : "logits";
        b.graph.addInput(valueInfo(x, Onnx.TensorProto.DataType.FLOAT_VALUE, -1, in[0], in[1], in[2]));
        QParams qi = b.q(m.inputName());
        if (form == Form.QOPERATOR) {
            b.node("QuantizeLinear", List.of(x, b.scale(qi), b.zp(qi)), m.inputName(), List.of());
            b.clip(m.inputName(), qi.qmin(), qi.qmax());
            for (Layer l : m.layers()) {
                b.qoperator(l);
            }
            QParams qo = b.q(m.outputName());
            String flat = b.flattenOutput(m.outputName(), m.outputShape());
            b.node("DequantizeLinear", List.of(flat, b.scale(qo), b.zp(qo)), y, List.of());
        } else {
            b.qdqActivation(x, m.inputName(), qi, qi.qmin(), qi.qmax());
            for (Layer l : m.layers()) {
                b.qdq(l);
            }
            String flat = b.flattenOutput(b.deq(m.outputName()), m.outputShape());
            b.node("Identity", List.of(flat), y, List.of());
        }
        int[] os = m.outputShape();
        boolean vector = os[1] == 1 && os[2] == 1;
        b.graph.addOutput(vector ? valueInfo(y, Onnx.TensorProto.DataType.FLOAT_VALUE, -1, os[0])
                : valueInfo(y, Onnx.TensorProto.DataType.FLOAT_VALUE, -1, os[0], os[1], os[2]));
        b.graph.setName("zsq " + (form == Form.QOPERATOR ? "QOperator" : "QDQ"));
        Onnx.ModelProto.Builder model = Onnx.ModelProto.newBuilder().setIrVersion(7).setProducerName("zsq")
                .setProducerVersion(m.metadata().getOrDefault("zsq.version", "")).setGraph(b.graph)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain(MS).setVersion(1));
        // provenance only: the tensors' quantization is in the graph itself (scale and zero-point initializers)
        m.metadata().forEach((k, v) -> model.addMetadataProps(Onnx.StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return model.build().toByteArray();
    }

    /** Graph under construction; zsq tensor names are kept, prefixed, for the int8 tensors. */
    private static final class Builder {
        final IntModel m;
        final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder();
        int counter;

        Builder(IntModel m) {
            this.m = m;
        }

        /** The quantization of {@code tensor} from the model's typed entries ({@link IntModel#quantization()}). */
        QParams q(String tensor) {
            TensorQuant t = m.quantization().get(tensor);
            if (t == null) {
                throw new IllegalArgumentException("model has no quantization for tensor '" + tensor
                        + "' (the ONNX export needs every tensor's scale and zero point; zsq quantize writes them)");
            }
            return LowerToInteger.untyped(t);
        }

        String fresh(String base) {
            return base + "#" + (counter++);
        }

        String scale(QParams q) {
            return constFloat(fresh("scale"), new long[0], new float[] {q.scale()});
        }

        String zp(QParams q) {
            return constInt8(fresh("zp"), new long[0], new byte[] {(byte) q.zeroPoint()});
        }

        void node(String op, List<String> inputs, String output, List<Onnx.AttributeProto> attrs) {
            node(op, "", inputs, output, attrs);
        }

        void node(String op, String domain, List<String> inputs, String output, List<Onnx.AttributeProto> attrs) {
            Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setName(fresh(op)).setDomain(domain)
                    .addAllInput(inputs).addOutput(output);
            attrs.forEach(n::addAttribute);
            graph.addNode(n);
        }

        /**
         * When [lo, hi] is narrower than int8, an int8 Clip on {@code tensor}, written by the node just
         * added: that node's output is renamed and the Clip writes {@code tensor}.
         */
        void clip(String tensor, int lo, int hi) {
            if (lo <= -128 && hi >= 127) {
                return;
            }
            int last = graph.getNodeCount() - 1;
            String unclipped = tensor + "#unclipped";
            graph.setNode(last, graph.getNode(last).toBuilder().setOutput(0, unclipped));
            String min = constInt8(fresh("min"), new long[0], new byte[] {(byte) lo});
            String max = constInt8(fresh("max"), new long[0], new byte[] {(byte) hi});
            node("Clip", List.of(unclipped, min, max), tensor, List.of());
        }

        void qoperator(Layer l) {
            if (l instanceof Layer.Conv c) {
                QParams qx = q(c.input()), qy = q(c.output());
                String x = c.input();
                int outC = c.outShape()[0];
                float[] ws = weightScales(c, qx, qy);
                String w = constInt8(fresh("W"), weightShape(c), c.weights());
                String wScale = constFloat(fresh("w_scale"), new long[] {outC}, ws);
                String wZp = constInt8(fresh("w_zp"), new long[] {outC}, new byte[outC]);
                String bias = constInt32(fresh("B"), new long[] {outC}, c.bias());
                node("QLinearConv", List.of(x, scale(qx), zp(qx), w, wScale, wZp, scale(qy), zp(qy), bias), c.output(),
                        convAttrs(c));
                clip(c.output(), c.actMin(), c.actMax());
            } else if (l instanceof Layer.Add a && a.bMultiplier() < 0) {
                // a subtraction: QLinearAdd has no negative scale, so DequantizeLinear -> Sub -> QuantizeLinear
                QParams qa = q(a.a()), qb = q(a.b()), qy = q(a.output());
                String fa = fresh(a.a() + "_f"), fb = fresh(a.b() + "_f"), y = fresh(a.output() + "_f");
                node("DequantizeLinear", List.of(a.a(), scale(qa), zp(qa)), fa, List.of());
                node("DequantizeLinear", List.of(a.b(), scale(qb), zp(qb)), fb, List.of());
                node("Sub", List.of(fa, fb), y, List.of());
                node("QuantizeLinear", List.of(y, scale(qy), zp(qy)), a.output(), List.of());
                clip(a.output(), a.actMin(), a.actMax());
            } else if (l instanceof Layer.Add a) {
                QParams qa = q(a.a()), qb = q(a.b()), qy = q(a.output());
                node("QLinearAdd", MS, List.of(a.a(), scale(qa), zp(qa), a.b(), scale(qb), zp(qb), scale(qy), zp(qy)), a.output(), List.of());
                clip(a.output(), a.actMin(), a.actMax());
            } else if (l instanceof Layer.MaxPool p) {
                node("MaxPool", List.of(p.input()), p.output(), poolAttrs(p.inShape(), p.outShape(), p.kh(), p.kw(), p.strideH(),
                        p.strideW(), p.padTop(), p.padLeft()));
            } else if (l instanceof Layer.AvgPool p) {
                QParams qx = q(p.input()), qy = q(p.output());
                if (global(p)) {
                    node("QLinearGlobalAveragePool", MS, List.of(p.input(), scale(qx), zp(qx), scale(qy), zp(qy)), p.output(),
                            List.of(intAttr("channels_last", 0)));
                } else {
                    List<Onnx.AttributeProto> at = new ArrayList<>(poolAttrs(p.inShape(), p.outShape(), p.kh(), p.kw(), p.strideH(),
                            p.strideW(), p.padTop(), p.padLeft()));
                    at.add(intAttr("count_include_pad", p.countIncludePad() ? 1 : 0));
                    node("QLinearAveragePool", MS, List.of(p.input(), scale(qx), zp(qx), scale(qy), zp(qy)), p.output(), at);
                }
            } else if (l instanceof Layer.Reshape r) {
                reshape(r.input(), r.output(), r.outShape());
            } else if (l instanceof Layer.Slice sl) {
                slice(sl.input(), sl.output(), sl);
            } else if (l instanceof Layer.Pad p) {
                pad(p.input(), p.output(), p, constInt8(fresh("fill"), new long[0], new byte[] {(byte) p.fill()}));
            } else if (l instanceof Layer.Mul mu) {
                QParams qa = q(mu.a()), qb = q(mu.b()), qy = q(mu.output());
                node("QLinearMul", MS, List.of(mu.a(), scale(qa), zp(qa), mu.b(), scale(qb), zp(qb), scale(qy), zp(qy)), mu.output(),
                        List.of());
                clip(mu.output(), mu.actMin(), mu.actMax());
            } else if (l instanceof Layer.Lut t) {
                // the model's own table, exactly: Gather(table, int32(x) + 128)
                String wide = fresh(t.output() + "_i32"), idx = fresh(t.output() + "_idx");
                node("Cast", List.of(t.input()), wide, List.of(intAttr("to", Onnx.TensorProto.DataType.INT32_VALUE)));
                node("Add", List.of(wide, constInt32(fresh("offset"), new long[0], new int[] {128})), idx, List.of());
                node("Gather", List.of(constInt8(fresh("table"), new long[] {256}, t.table()), idx), t.output(),
                        List.of(intAttr("axis", 0)));
            } else if (l instanceof Layer.Expand e) {
                expand(e.input(), e.output(), e);
            } else if (l instanceof Layer.Concat c) {
                QParams qy = q(c.output());
                List<String> in = new ArrayList<>(List.of(scale(qy), zp(qy)));
                for (String x : c.inputs()) {
                    QParams qx = q(x);
                    in.addAll(List.of(x, scale(qx), zp(qx)));
                }
                node("QLinearConcat", MS, in, c.output(), List.of(intAttr("axis", 1)));
                clip(c.output(), c.actMin(), c.actMax());
            }
        }

        void qdq(Layer l) {
            if (l instanceof Layer.Conv c) {
                QParams qx = q(c.input()), qy = q(c.output());
                int outC = c.outShape()[0];
                float[] ws = weightScales(c, qx, qy);
                float[] bs = new float[outC];
                for (int o = 0; o < outC; o++) {
                    bs[o] = qx.scale() * ws[o];
                }
                String w = fresh("W_dq"), bias = fresh("B_dq");
                node("DequantizeLinear", List.of(constInt8(fresh("W"), weightShape(c), c.weights()),
                        constFloat(fresh("w_scale"), new long[] {outC}, ws), constInt8(fresh("w_zp"), new long[] {outC}, new byte[outC])),
                        w, List.of(intAttr("axis", 0)));
                node("DequantizeLinear", List.of(constInt32(fresh("B"), new long[] {outC}, c.bias()),
                        constFloat(fresh("b_scale"), new long[] {outC}, bs), constInt32(fresh("b_zp"), new long[] {outC}, new int[outC])),
                        bias, List.of(intAttr("axis", 0)));
                String y = fresh(c.output() + "_f");
                node("Conv", List.of(deq(c.input()), w, bias), y, convAttrs(c));
                qdqActivation(y, c.output(), qy, c.actMin(), c.actMax());
            } else if (l instanceof Layer.Add a) {
                String y = fresh(a.output() + "_f");
                node(a.bMultiplier() < 0 ? "Sub" : "Add", List.of(deq(a.a()), deq(a.b())), y, List.of());
                qdqActivation(y, a.output(), q(a.output()), a.actMin(), a.actMax());
            } else if (l instanceof Layer.MaxPool p) {
                String y = fresh(p.output() + "_f");
                node("MaxPool", List.of(deq(p.input())), y, poolAttrs(p.inShape(), p.outShape(), p.kh(), p.kw(), p.strideH(), p.strideW(),
                        p.padTop(), p.padLeft()));
                QParams qy = q(p.output());
                qdqActivation(y, p.output(), qy, qy.qmin(), qy.qmax());
            } else if (l instanceof Layer.AvgPool p) {
                String y = fresh(p.output() + "_f");
                if (global(p)) {
                    node("GlobalAveragePool", List.of(deq(p.input())), y, List.of());
                } else {
                    List<Onnx.AttributeProto> at = new ArrayList<>(poolAttrs(p.inShape(), p.outShape(), p.kh(), p.kw(), p.strideH(),
                            p.strideW(), p.padTop(), p.padLeft()));
                    at.add(intAttr("count_include_pad", p.countIncludePad() ? 1 : 0));
                    node("AveragePool", List.of(deq(p.input())), y, at);
                }
                QParams qy = q(p.output());
                qdqActivation(y, p.output(), qy, qy.qmin(), qy.qmax());
            } else if (l instanceof Layer.Reshape r) {
                String shaped = fresh(r.output() + "_q");
                reshape(r.input(), shaped, r.outShape());
                QParams qy = q(r.output());
                node("DequantizeLinear", List.of(shaped, scale(qy), zp(qy)), r.output() + "#dq", List.of());
            } else if (l instanceof Layer.Slice sl) {
                String y = fresh(sl.output() + "_f");
                slice(deq(sl.input()), y, sl);
                QParams qy = q(sl.output());
                qdqActivation(y, sl.output(), qy, qy.qmin(), qy.qmax());
            } else if (l instanceof Layer.Pad p) {
                String y = fresh(p.output() + "_f");
                pad(deq(p.input()), y, p, constFloat(fresh("fill"), new long[0], new float[] {0f}));
                QParams qy = q(p.output());
                qdqActivation(y, p.output(), qy, qy.qmin(), qy.qmax());
            } else if (l instanceof Layer.Mul mu) {
                String y = fresh(mu.output() + "_f");
                node("Mul", List.of(deq(mu.a()), deq(mu.b())), y, List.of());
                qdqActivation(y, mu.output(), q(mu.output()), mu.actMin(), mu.actMax());
            } else if (l instanceof Layer.Lut t) {
                String y = fresh(t.output() + "_f");
                function(t, deq(t.input()), y);
                QParams qy = q(t.output());
                qdqActivation(y, t.output(), qy, qy.qmin(), qy.qmax());
            } else if (l instanceof Layer.Expand e) {
                String y = fresh(e.output() + "_f");
                expand(deq(e.input()), y, e);
                QParams qy = q(e.output());
                qdqActivation(y, e.output(), qy, qy.qmin(), qy.qmax());
            } else if (l instanceof Layer.Concat c) {
                String y = fresh(c.output() + "_f");
                node("Concat", java.util.Arrays.stream(c.inputs()).map(this::deq).toList(), y, List.of(intAttr("axis", 1)));
                qdqActivation(y, c.output(), q(c.output()), c.actMin(), c.actMax());
            }
        }

        /** The float function of a table (opset 13 has no HardSwish: {@code x * HardSigmoid(x; 1/6, 1/2)}). */
        void function(Layer.Lut t, String in, String out) {
            switch (t.function()) {
                case "Sigmoid" -> node("Sigmoid", List.of(in), out, List.of());
                case "HardSigmoid" -> node("HardSigmoid", List.of(in), out, List.of(
                        floatAttr("alpha", Float.intBitsToFloat(t.functionParams()[0])),
                        floatAttr("beta", Float.intBitsToFloat(t.functionParams()[1]))));
                case "HardSwish" -> {
                    String gate = fresh(out + "_gate");
                    node("HardSigmoid", List.of(in), gate, List.of(floatAttr("alpha", 1f / 6f), floatAttr("beta", 0.5f)));
                    node("Mul", List.of(in, gate), out, List.of());
                }
                default -> throw new IllegalArgumentException("lookup table " + t.output() + ": function '" + t.function()
                        + "' has no ONNX form");
            }
        }

        /** ONNX Slice over axes 1..3 of an NCHW tensor; each end is one past the last index read. */
        void slice(String in, String out, Layer.Slice s) {
            long[] starts = new long[3], ends = new long[3], steps = new long[3];
            for (int a = 0; a < 3; a++) {
                starts[a] = s.starts()[a];
                steps[a] = s.steps()[a];
                ends[a] = s.starts()[a] + (long) (s.outShape()[a] - 1) * s.steps()[a] + 1;
            }
            node("Slice", List.of(in, constInt64(fresh("starts"), new long[] {3}, starts), constInt64(fresh("ends"), new long[] {3}, ends),
                    constInt64(fresh("axes"), new long[] {3}, new long[] {1, 2, 3}), constInt64(fresh("steps"), new long[] {3}, steps)),
                    out, List.of());
        }

        /** ONNX Expand of an NCHW tensor to {@code [1, C, H, W]} (the batch broadcasts as it is). */
        void expand(String in, String out, Layer.Expand e) {
            int[] o = e.outShape();
            node("Expand", List.of(in, constInt64(fresh("shape"), new long[] {4}, new long[] {1, o[0], o[1], o[2]})), out, List.of());
        }

        /** ONNX Pad (constant) of an NCHW tensor: nothing on the batch axis, {@code fill} a scalar of the tensor's type. */
        void pad(String in, String out, Layer.Pad p, String fill) {
            long[] pads = new long[8];
            for (int a = 0; a < 3; a++) {
                pads[1 + a] = p.begin()[a];
                pads[5 + a] = p.outShape()[a] - p.inShape()[a] - p.begin()[a];
            }
            node("Pad", List.of(in, constInt64(fresh("pads"), new long[] {8}, pads), fill), out, List.of());
        }

        /** The float value of an int8 tensor (its DequantizeLinear output). */
        String deq(String tensor) {
            return tensor + "#dq";
        }

        /**
         * Float {@code y} -> Clip to what the integer grid and the fused activation allow -> QuantizeLinear
         * (the int8 tensor {@code name}) -> DequantizeLinear ({@code name#dq}).
         */
        void qdqActivation(String y, String name, QParams q, int lo, int hi) {
            String in = y;
            if (lo > -128 || hi < 127) {
                // clamping the float to the grid points lo and hi clamps its quantized value to [lo, hi]
                float min = q.scale() * (lo - q.zeroPoint()), max = q.scale() * (hi - q.zeroPoint());
                in = fresh(name + "_clip");
                node("Clip", List.of(y, constFloat(fresh("min"), new long[0], new float[] {min}),
                        constFloat(fresh("max"), new long[0], new float[] {max})), in, List.of());
            }
            node("QuantizeLinear", List.of(in, scale(q), zp(q)), name, List.of());
            node("DequantizeLinear", List.of(name, scale(q), zp(q)), deq(name), List.of());
        }

        void reshape(String in, String out, int[] shape) {
            long[] s = {-1, shape[0], shape.length > 1 ? shape[1] : 1, shape.length > 2 ? shape[2] : 1};
            node("Reshape", List.of(in, constInt64(fresh("shape"), new long[] {4}, s)), out, List.of());
        }

        /** The model output as {@code [N, K]} when it is a vector, else unchanged. */
        String flattenOutput(String t, int[] shape) {
            if (shape[1] != 1 || shape[2] != 1) {
                return t;
            }
            String out = fresh(t + "_2d");
            node("Reshape", List.of(t, constInt64(fresh("shape"), new long[] {2}, new long[] {-1, shape[0]})), out, List.of());
            return out;
        }

        String constFloat(String name, long[] dims, float[] v) {
            ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : v) {
                bb.putFloat(f);
            }
            return init(name, Onnx.TensorProto.DataType.FLOAT_VALUE, dims, bb.array());
        }

        String constInt8(String name, long[] dims, byte[] v) {
            return init(name, Onnx.TensorProto.DataType.INT8_VALUE, dims, v.clone());
        }

        String constInt32(String name, long[] dims, int[] v) {
            ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (int i : v) {
                bb.putInt(i);
            }
            return init(name, Onnx.TensorProto.DataType.INT32_VALUE, dims, bb.array());
        }

        String constInt64(String name, long[] dims, long[] v) {
            ByteBuffer bb = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (long i : v) {
                bb.putLong(i);
            }
            return init(name, Onnx.TensorProto.DataType.INT64_VALUE, dims, bb.array());
        }

        String init(String name, int type, long[] dims, byte[] raw) {
            Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(type).setRawData(ByteString.copyFrom(raw));
            for (long d : dims) {
                t.addDims(d);
            }
            graph.addInitializer(t);
            return name;
        }
    }

    /** {@code x_scale * w_scale[c] / y_scale} = the layer's dyadic multiplier of channel c. */
    static float[] weightScales(Layer.Conv c, QParams qx, QParams qy) {
        float[] ws = new float[c.outShape()[0]];
        for (int o = 0; o < ws.length; o++) {
            double mult = c.multiplier()[o] * Math.pow(2, c.shift()[o]) / (1L << 31);
            ws[o] = (float) (mult * qy.scale() / qx.scale());
        }
        return ws;
    }

    static long[] weightShape(Layer.Conv c) {
        return new long[] {c.outShape()[0], c.inShape()[0] / c.groups(), c.kh(), c.kw()};
    }

    static boolean global(Layer.AvgPool p) {
        return p.kh() == p.inShape()[1] && p.kw() == p.inShape()[2] && p.padTop() == 0 && p.padLeft() == 0 && p.outShape()[1] == 1
                && p.outShape()[2] == 1;
    }

    static List<Onnx.AttributeProto> convAttrs(Layer.Conv c) {
        int[] pads = pads(c.inShape(), c.outShape(), c.kh(), c.kw(), c.strideH(), c.strideW(), c.padTop(), c.padLeft());
        return List.of(ints("kernel_shape", c.kh(), c.kw()), ints("strides", c.strideH(), c.strideW()), ints("pads", pads),
                intAttr("group", c.groups()));
    }

    static List<Onnx.AttributeProto> poolAttrs(int[] in, int[] out, int kh, int kw, int sh, int sw, int pt, int pl) {
        return List.of(ints("kernel_shape", kh, kw), ints("strides", sh, sw), ints("pads", pads(in, out, kh, kw, sh, sw, pt, pl)));
    }

    /** ONNX pads {@code [top, left, bottom, right]}: the end pads that give exactly this output size. */
    static int[] pads(int[] in, int[] out, int kh, int kw, int sh, int sw, int pt, int pl) {
        int pb = Math.max(0, (out[1] - 1) * sh + kh - in[1] - pt);
        int pr = Math.max(0, (out[2] - 1) * sw + kw - in[2] - pl);
        return new int[] {pt, pl, pb, pr};
    }

    static Onnx.AttributeProto ints(String name, int... v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (int i : v) {
            a.addInts(i);
        }
        return a.build();
    }

    static Onnx.AttributeProto floatAttr(String name, float v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    static Onnx.AttributeProto intAttr(String name, long v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(v).build();
    }

    static Onnx.ValueInfoProto valueInfo(String name, int type, long... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                    : Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name)
                .setType(Onnx.TypeProto.newBuilder().setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(type).setShape(shape)))
                .build();
    }
}
