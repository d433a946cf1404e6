package io.zsq.ptq.pipeline;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.Quantization;
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

    /**
     * Per-layer rows for a lowered variant: weight SQNR of its quantized weights, activation SQNR measured
     * on {@code x} (NCHW synthetic images), the range and where it came from, and (with mixed precision)
     * the layer's sensitivity at its width.
     */
    static List<QuantizeReport.LayerRow> layers(Graph g, Quantization q, float[] x, int batch, QuantizeReport.MixedPrecisionInfo mixed) {
        Fp32Engine.Trace t = Fp32Engine.forward(g, x, batch, null);
        Map<String, Map<String, Double>> sens = mixed == null ? Map.of() : mixed.sensitivity();
        List<QuantizeReport.LayerRow> rows = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.op() != OpType.CONV && n.op() != OpType.DENSE && n.op() != OpType.ADD) {
                continue;
            }
            Double wSqnr = null;
            Integer wb = null;
            if (n.op() != OpType.ADD) {
                float[] w = n.param("W").data();
                wSqnr = sqnr(w, q.weights(n).fakeQuantize(w));
                wb = q.scheme().weightBits(n);
            }
            QParams a = q.tensor(n.output());
            float[] v = t.get(n.output());
            float[] fq = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                fq[i] = a.fakeQuantize(v[i]);
            }
            int ab = 32 - Integer.numberOfLeadingZeros(a.qmax() - a.qmin());
            Map<String, Double> s = sens.get(n.id());
            rows.add(new QuantizeReport.LayerRow(n.id(), n.op().toString(), n.output(), wb, wSqnr,
                    List.of((double) a.dequantize(a.qmin()), (double) a.dequantize(a.qmax())),
                    q.bnRanged().contains(n.output()) ? "batchnorm statistics" : "calibration data", ab, sqnr(v, fq),
                    s == null || wb == null ? null : s.get(Integer.toString(wb))));
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

    static void write(Path dir, QuantizeReport report, String bitsLabel) throws IOException {
        List<QuantizeReport.LayerRow> rows = report.layers();
        System.setProperty("java.awt.headless", "true");
        DefaultCategoryDataset ds = new DefaultCategoryDataset();
        for (QuantizeReport.LayerRow r : rows) {
            if (r.weightSqnrDb() != null && Double.isFinite(r.weightSqnrDb())) {
                ds.addValue(r.weightSqnrDb(), "weights", r.id());
            }
            if (Double.isFinite(r.activationSqnrDb())) {
                ds.addValue(r.activationSqnrDb(), "activations (output)", r.id());
            }
        }
        JFreeChart sq = ChartFactory.createBarChart("Per-layer SQNR, " + bitsLabel, "layer", "SQNR (dB)", ds, PlotOrientation.VERTICAL,
                true, false, false);
        sq.getCategoryPlot().getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        sq.setBackgroundPaint(Color.WHITE);
        png(dir.resolve("sqnr.png"), sq, 900, 520);
        QuantizeReport.MixedPrecisionInfo mixed = report.mixedPrecision();
        if (mixed != null) {
            XYSeries s = new XYSeries("Pareto frontier");
            for (List<Double> p : mixed.frontierBytesSensitivity()) {
                s.add(p.get(0), p.get(1));
            }
            XYSeries chosen = new XYSeries("chosen");
            chosen.add(mixed.chosenWeightBytes(), mixed.chosenSensitivity());
            XYSeriesCollection c = new XYSeriesCollection(s);
            c.addSeries(chosen);
            JFreeChart pf = ChartFactory.createXYLineChart("Mixed precision: summed sensitivity vs weight size", "weight bytes",
                    "summed sensitivity (KL)", c, PlotOrientation.VERTICAL, true, false, false);
            pf.getXYPlot().getRenderer().setSeriesStroke(0, new BasicStroke(2f));
            pf.setBackgroundPaint(Color.WHITE);
            png(dir.resolve("pareto.png"), pf, 900, 520);
        }
        if (report.fineTuning() != null) {
            XYSeriesCollection c = new XYSeriesCollection();
            for (QuantizeReport.FineTuneInfo f : report.fineTuning()) {
                XYSeries s = new XYSeries(f.bits());
                for (List<Double> p : f.lossCurve()) {
                    s.add(p.get(0), p.get(1));
                }
                c.addSeries(s);
            }
            JFreeChart lc = ChartFactory.createXYLineChart("Level 2: distillation loss on the synthetic set", "step", "loss (T^2 KL)", c,
                    PlotOrientation.VERTICAL, true, false, false);
            lc.setBackgroundPaint(Color.WHITE);
            png(dir.resolve("qat-loss.png"), lc, 900, 520);
        }
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>zsq report</title><style>")
                .append("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}td.l{text-align:left}")
                .append("</style></head><body>\n<h1>zsq quantization report</h1>\n");
        h.append("<h2>Provenance</h2>\n<table>");
        row(h, "tool", report.tool());
        row(h, "model", report.model());
        row(h, "model SHA-256", report.modelSha256());
        row(h, "calibration data", report.realDataUsedForCalibration()
                ? "REAL training images (upper bound; not data-free)" : "synthetic only: no real data was read");
        row(h, "synthesis", Json.MAPPER.valueToTree(report.synthesis()));
        row(h, "observer", report.observer());
        row(h, "scheme", Json.MAPPER.valueToTree(report.scheme()));
        row(h, "equalization / high-bias absorption / bias correction", report.equalization() + " / "
                + report.highBiasAbsorption() + " / " + report.biasCorrection());
        row(h, "BatchNorm-statistics ranges", report.bnRanges());
        h.append("</table>\n<h3>Passes</h3>\n<table><tr><th>pass</th><th>requires</th><th>establishes</th><th>report</th></tr>\n");
        for (io.zsq.core.passes.PassRunner.Record r : report.passes()) {
            h.append("<tr><td class=l>").append(esc(r.name())).append("</td><td class=l>").append(esc(String.valueOf(r.requires())))
                    .append("</td><td class=l>").append(r.establishes()).append("</td><td class=l>")
                    .append(esc(abbreviate(Json.MAPPER.valueToTree(r.report()).toString()))).append("</td></tr>\n");
        }
        h.append("</table>\n<table>");
        row(h, "ONNX exports", Json.MAPPER.valueToTree(report.onnxExports()));
        h.append("</table>\n");
        h.append("<h2>Accuracy</h2>\n");
        if (report.fp32Top1() != null) {
            h.append("<p>FP32 top-1 ").append(fmt(report.fp32Top1())).append(" % on ").append(report.evalImages())
                    .append(" images of ").append(esc(String.valueOf(report.evalData()))).append("</p>\n");
        } else {
            h.append("<p>No evaluation data given (--eval).</p>\n");
        }
        h.append("<table><tr><th>bits</th><th>calibration</th><th>level</th><th>integer top-1 %</th><th>fake-quant top-1 %</th><th>agreement with fake-quant %</th><th>model bytes</th></tr>\n");
        for (QuantizeReport.ResultRow r : report.results()) {
            h.append("<tr><td class=l>").append(r.bits()).append("</td><td class=l>").append(r.calibration()).append("</td><td>").append(r.level())
                    .append("</td><td>").append(fmt(r.intTop1())).append("</td><td>").append(fmt(r.fakeQuantTop1())).append("</td><td>")
                    .append(fmt(r.agreementWithFakeQuant())).append("</td><td>")
                    .append(r.modelBytes()).append("</td></tr>\n");
        }
        h.append("</table>\n");
        if (report.fineTuning() != null) {
            h.append("<h2>Level 2</h2>\n<table><tr><th>bits</th><th>steps</th><th>pool images</th><th>initial loss</th><th>final loss</th>")
                    .append("<th>s / step</th></tr>\n");
            for (QuantizeReport.FineTuneInfo f : report.fineTuning()) {
                h.append("<tr><td class=l>").append(f.bits()).append("</td><td>").append(f.settings().steps()).append("</td><td>").append(f.poolImages())
                        .append("</td><td>").append(String.format("%.4g", f.initialLoss())).append("</td><td>").append(String.format("%.4g", f.finalLoss()))
                        .append("</td><td>").append(String.format("%.3f", f.secondsPerStep())).append("</td></tr>\n");
            }
            h.append("</table>\n<img src=\"qat-loss.png\" alt=\"Level-2 loss curve\">\n");
        }
        h.append("<h2>Layers (").append(esc(bitsLabel)).append(", the written model)</h2>\n");
        h.append("<table><tr><th>layer</th><th>op</th><th>weight bits</th><th>weight SQNR dB</th><th>output range</th><th>range from</th>")
                .append("<th>activation bits</th><th>activation SQNR dB</th><th>sensitivity (KL)</th></tr>\n");
        for (QuantizeReport.LayerRow r : rows) {
            h.append("<tr><td class=l>").append(esc(r.id())).append("</td><td class=l>").append(r.op()).append("</td><td>")
                    .append(r.weightBits() == null ? "" : r.weightBits()).append("</td><td>").append(fmt(r.weightSqnrDb())).append("</td><td>")
                    .append(String.format("[%.4g, %.4g]", r.outputRange().get(0), r.outputRange().get(1))).append("</td><td class=l>")
                    .append(esc(r.rangeSource())).append("</td><td>").append(r.activationBits()).append("</td><td>")
                    .append(fmt(r.activationSqnrDb())).append("</td><td>").append(r.sensitivity() == null ? "" : String.format("%.3g", r.sensitivity()))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n<p>Activation SQNR measured on the first synthetic calibration batch.</p>\n");
        h.append("<img src=\"sqnr.png\" alt=\"per-layer SQNR\">\n");
        if (mixed != null) {
            h.append("<h2>Mixed precision</h2>\n<p>Budget ").append(mixed.budgetWeightBytes()).append(" weight bytes (int8: ")
                    .append(mixed.int8WeightBytes()).append("), chosen ").append(mixed.chosenWeightBytes()).append(": ")
                    .append(esc(String.valueOf(mixed.weightBits()))).append("</p>\n<img src=\"pareto.png\" alt=\"Pareto frontier\">\n");
        }
        h.append("</body></html>\n");
        Path tmp = dir.resolve("report.html.tmp");
        Files.writeString(tmp, h.toString());
        Files.move(tmp, dir.resolve("report.html"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void png(Path file, JFreeChart chart, int w, int h) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (java.io.OutputStream out = Files.newOutputStream(tmp)) {
            ChartUtils.writeChartAsPNG(out, chart, w, h);
        }
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

    private static String abbreviate(String s) {
        return s.length() > 600 ? s.substring(0, 600) + " ... (all of it in report.json)" : s;
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
