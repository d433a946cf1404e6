package io.zsq.spark;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.QuantPoints;
import io.zsq.core.quant.Scheme;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * {@code report.html} beside the model: per layer the chosen range, bits, SQNR of weights and
 * activations and (with mixed precision) sensitivity; plots of per-layer SQNR and of the Pareto
 * frontier (PNG, JFreeChart); the accuracy table; provenance. Every file is written to a temporary
 * name and renamed.
 */
final class HtmlReport {
    private HtmlReport() {}

    /** One row of the per-layer table. */
    record LayerRow(String id, String op, int weightBits, double weightSqnr, String output, int activationBits, double lo, double hi,
                    double activationSqnr, Double sensitivity) {}

    /** Per-layer rows for a lowered variant, activation SQNR measured on {@code x} (NCHW synthetic images). */
    static List<LayerRow> layers(Graph g, Scheme scheme, Map<String, QParams> points, float[] x, int batch, Map<String, Object> mixed) {
        Map<String, QParams> act = QuantPoints.propagate(g, points);
        Fp32Engine.Trace t = Fp32Engine.forward(g, x, batch, null);
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Double>> sens = mixed == null ? Map.of() : (Map<String, Map<String, Double>>) mixed.get("sensitivity");
        List<LayerRow> rows = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.op() != OpType.CONV && n.op() != OpType.DENSE && n.op() != OpType.ADD) {
                continue;
            }
            double wSqnr = Double.NaN;
            int wb = 0;
            if (n.op() != OpType.ADD) {
                float[] w = n.param("W").data();
                wSqnr = sqnr(w, scheme.weights(n).fakeQuantize(w));
                wb = scheme.weightBits(n);
            }
            QParams q = act.get(n.output());
            float[] v = t.get(n.output());
            float[] fq = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                fq[i] = q.fakeQuantize(v[i]);
            }
            int ab = 32 - Integer.numberOfLeadingZeros(q.qmax() - q.qmin());
            Map<String, Double> s = sens.get(n.id());
            rows.add(new LayerRow(n.id(), n.op().toString(), wb, wSqnr, n.output(), ab, q.dequantize(q.qmin()), q.dequantize(q.qmax()),
                    sqnr(v, fq), s == null ? null : s.get(Integer.toString(wb))));
        }
        return rows;
    }

    /** 10 log10(sum x^2 / sum (x - q)^2), in dB; infinite when exact. */
    static double sqnr(float[] x, float[] q) {
        double s = 0, e = 0;
        for (int i = 0; i < x.length; i++) {
            s += (double) x[i] * x[i];
            double d = x[i] - q[i];
            e += d * d;
        }
        return e == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(s / e);
    }

    static void write(Path dir, Map<String, Object> report, List<LayerRow> rows, String bitsLabel) throws IOException {
        System.setProperty("java.awt.headless", "true");
        DefaultCategoryDataset ds = new DefaultCategoryDataset();
        for (LayerRow r : rows) {
            if (!Double.isNaN(r.weightSqnr()) && Double.isFinite(r.weightSqnr())) {
                ds.addValue(r.weightSqnr(), "weights", r.id());
            }
            if (Double.isFinite(r.activationSqnr())) {
                ds.addValue(r.activationSqnr(), "activations (output)", r.id());
            }
        }
        JFreeChart sq = ChartFactory.createBarChart("Per-layer SQNR, " + bitsLabel, "layer", "SQNR (dB)", ds, PlotOrientation.VERTICAL,
                true, false, false);
        sq.getCategoryPlot().getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        sq.setBackgroundPaint(Color.WHITE);
        png(dir.resolve("sqnr.png"), sq, 900, 520);
        @SuppressWarnings("unchecked")
        Map<String, Object> mixed = (Map<String, Object>) report.get("mixed_precision");
        if (mixed != null) {
            XYSeries s = new XYSeries("Pareto frontier");
            @SuppressWarnings("unchecked")
            List<List<Double>> f = (List<List<Double>>) mixed.get("frontier_bytes_sensitivity");
            for (List<Double> p : f) {
                s.add(p.get(0), p.get(1));
            }
            XYSeries chosen = new XYSeries("chosen");
            chosen.add(((Number) mixed.get("chosen_weight_bytes")).doubleValue(), ((Number) mixed.get("chosen_sensitivity")).doubleValue());
            XYSeriesCollection c = new XYSeriesCollection(s);
            c.addSeries(chosen);
            JFreeChart pf = ChartFactory.createXYLineChart("Mixed precision: summed sensitivity vs weight size", "weight bytes",
                    "summed sensitivity (KL)", c, PlotOrientation.VERTICAL, true, false, false);
            pf.getXYPlot().getRenderer().setSeriesStroke(0, new BasicStroke(2f));
            pf.setBackgroundPaint(Color.WHITE);
            png(dir.resolve("pareto.png"), pf, 900, 520);
        }
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>zsq report</title><style>")
                .append("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}td.l{text-align:left}")
                .append("</style></head><body>\n<h1>zsq quantization report</h1>\n");
        h.append("<h2>Provenance</h2>\n<table>");
        row(h, "tool", report.get("tool"));
        row(h, "model", report.get("model"));
        row(h, "model SHA-256", report.get("model_sha256"));
        row(h, "calibration data", Boolean.TRUE.equals(report.get("real_data_used_for_calibration"))
                ? "REAL training images (upper bound; not data-free)" : "synthetic only: no real data was read");
        row(h, "synthesis", report.get("synthesis"));
        row(h, "observer", report.get("observer"));
        row(h, "scheme", report.get("scheme"));
        row(h, "equalization / high-bias absorption / bias correction", report.get("equalization") + " / "
                + report.get("high_bias_absorption") + " / " + report.get("bias_correction"));
        row(h, "BatchNorm-statistics ranges", report.get("bn_ranges"));
        row(h, "passes", report.get("passes"));
        row(h, "ONNX exports", report.get("onnx_exports"));
        h.append("</table>\n");
        h.append("<h2>Accuracy</h2>\n");
        if (report.get("fp32_top1") != null) {
            h.append("<p>FP32 top-1 ").append(fmt(report.get("fp32_top1"))).append(" % on ").append(report.get("eval_images"))
                    .append(" images of ").append(esc(String.valueOf(report.get("eval_data")))).append("</p>\n");
        } else {
            h.append("<p>No evaluation data given (--eval).</p>\n");
        }
        h.append("<table><tr><th>bits</th><th>calibration</th><th>integer top-1 %</th><th>fake-quant top-1 %</th><th>agreement with fake-quant %</th><th>model bytes</th></tr>\n");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> results = (List<Map<String, Object>>) report.get("results");
        for (Map<String, Object> r : results) {
            h.append("<tr><td class=l>").append(r.get("bits")).append("</td><td class=l>").append(r.get("calibration")).append("</td><td>")
                    .append(fmt(r.get("int_top1"))).append("</td><td>").append(fmt(r.get("fake_quant_top1"))).append("</td><td>")
                    .append(fmt(r.get("agreement_with_fake_quant"))).append("</td><td>")
                    .append(r.get("model_bytes")).append("</td></tr>\n");
        }
        h.append("</table>\n<h2>Layers (").append(esc(bitsLabel)).append(", the written model)</h2>\n");
        Map<String, Object> source = new java.util.HashMap<>();
        if (report.get("layers") instanceof List<?> layers) {
            for (Object l : layers) {
                Map<?, ?> m = (Map<?, ?>) l;
                source.put(String.valueOf(m.get("id")), m.get("range_source"));
            }
        }
        h.append("<table><tr><th>layer</th><th>op</th><th>weight bits</th><th>weight SQNR dB</th><th>output range</th><th>range from</th>")
                .append("<th>activation bits</th><th>activation SQNR dB</th><th>sensitivity (KL)</th></tr>\n");
        for (LayerRow r : rows) {
            h.append("<tr><td class=l>").append(esc(r.id())).append("</td><td class=l>").append(r.op()).append("</td><td>")
                    .append(r.weightBits() == 0 ? "" : r.weightBits()).append("</td><td>").append(fmt(r.weightSqnr())).append("</td><td>")
                    .append(String.format("[%.4g, %.4g]", r.lo(), r.hi())).append("</td><td class=l>")
                    .append(esc(String.valueOf(source.getOrDefault(r.id(), "")))).append("</td><td>").append(r.activationBits()).append("</td><td>")
                    .append(fmt(r.activationSqnr())).append("</td><td>").append(r.sensitivity() == null ? "" : String.format("%.3g", r.sensitivity()))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n<p>Activation SQNR measured on the first synthetic calibration batch.</p>\n");
        h.append("<img src=\"sqnr.png\" alt=\"per-layer SQNR\">\n");
        if (mixed != null) {
            h.append("<h2>Mixed precision</h2>\n<p>Budget ").append(mixed.get("budget_weight_bytes")).append(" weight bytes (int8: ")
                    .append(mixed.get("int8_weight_bytes")).append("), chosen ").append(mixed.get("chosen_weight_bytes")).append(": ")
                    .append(esc(String.valueOf(mixed.get("weight_bits")))).append("</p>\n<img src=\"pareto.png\" alt=\"Pareto frontier\">\n");
        }
        h.append("</body></html>\n");
        Path tmp = dir.resolve("report.html.tmp");
        Files.writeString(tmp, h.toString());
        Files.move(tmp, dir.resolve("report.html"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void png(Path file, JFreeChart chart, int w, int h) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        ChartUtils.saveChartAsPNG(tmp.toFile(), chart, w, h);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void row(StringBuilder h, String k, Object v) {
        h.append("<tr><th>").append(esc(k)).append("</th><td class=l>").append(esc(String.valueOf(v))).append("</td></tr>\n");
    }

    private static String fmt(Object v) {
        if (v instanceof Number n) {
            double d = n.doubleValue();
            return Double.isNaN(d) ? "" : Double.isInfinite(d) ? "exact" : String.format("%.2f", d);
        }
        return v == null ? "" : esc(v.toString());
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
