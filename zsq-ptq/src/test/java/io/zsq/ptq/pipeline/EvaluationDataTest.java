package io.zsq.ptq.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.data.IdxDataset;
import io.zsq.core.data.ImageTransform;
import io.zsq.core.data.LabeledImages;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Evaluation through the pipeline on an image folder gives what the same images give from the idx folder. */
class EvaluationDataTest {
    static final int N = 200;

    @TempDir
    Path dir;

    /** The first {@code n} Fashion-MNIST test images as grayscale PNGs, one folder per class ("0" ... "9"). */
    static Path pngFolder(Path root, int n) throws Exception {
        IdxDataset d = IdxDataset.load(PipelineTest.FASHION, "t10k", n);
        for (int c = 0; c < 10; c++) {
            Files.createDirectories(root.resolve(Integer.toString(c)));
        }
        for (int i = 0; i < n; i++) {
            BufferedImage im = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            for (int p = 0; p < 784; p++) {
                im.getRaster().setSample(p % 28, p / 28, 0, d.pixels()[i * 784 + p] & 0xFF);
            }
            ImageIO.write(im, "png", root.resolve(d.labels()[i] + "/" + String.format("%05d.png", i)).toFile());
        }
        return root;
    }

    @Test
    void anImageFolderEvaluatesAsTheSameImagesFromTheIdxFolder() throws Exception {
        Path png = pngFolder(dir.resolve("png"), N);
        LabeledImages folder = LabeledImages.read(png, LabeledImages.Split.TEST, 0, ImageTransform.NONE, new int[] {1, 28, 28});
        assertEquals(N, folder.count(), "every class of the first 200 is there, so the folder labels are the class indices");

        Path idxOut = dir.resolve("idx"), pngOut = dir.resolve("png-out");
        QuantizeReport fromIdx = Pipeline.run(PipelineTest.small(PipelineTest.RESNET, idxOut).count(32).steps(2).gaussianBaseline(false)
                .eval(PipelineTest.FASHION).evalLimit(N).build(), new InProcessExecutor(2));
        Plan plan = PipelineTest.small(PipelineTest.RESNET, pngOut).count(32).steps(2).gaussianBaseline(false).calib(idxOut.resolve("calib"))
                .eval(png).build();
        QuantizeReport fromPng = Pipeline.run(plan, new InProcessExecutor(2));
        assertEquals(N, fromPng.evalImages());
        assertEquals(fromIdx.fp32Top1(), fromPng.fp32Top1(), "FP32 top-1 on the same 200 images (another order)");
        assertTrue(fromIdx.fp32Top1() > 85, "FP32 top-1 " + fromIdx.fp32Top1());
        assertEquals(fromIdx.results().get(0).intTop1(), fromPng.results().get(0).intTop1(), "the same calibration: the same integer top-1");
        assertEquals(plan, Json.MAPPER.treeToValue(Json.MAPPER.readTree(pngOut.resolve("report.json").toFile()).get("plan"), Plan.class));
    }

    @Test
    void theResizeAndCropOptionsRoundTripAndAreChecked() throws Exception {
        Plan p = PipelineTest.small(PipelineTest.RESNET, dir.resolve("x")).eval(dir).evalResize(32).evalCenterCrop(true).build();
        assertEquals(new Plan.Evaluation(dir, 0, 32, true), p.eval());
        assertEquals(new ImageTransform(32, true), p.eval().transform());
        assertEquals(p, Json.MAPPER.treeToValue(Json.MAPPER.valueToTree(p), Plan.class));
        assertTrue(Json.MAPPER.valueToTree(p).get("eval").has("center_crop"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PipelineTest.small(PipelineTest.RESNET, dir.resolve("x")).eval(dir).evalResize(-2).build());
        assertTrue(e.getMessage().startsWith("--eval-resize must be"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PipelineTest.small(PipelineTest.RESNET, dir.resolve("x")).evalCenterCrop(true).build());
        assertTrue(e.getMessage().contains("give --eval"), e.getMessage());
    }

    @Test
    void dataThatDoesNotFitTheModelFailsBeforeAnythingIsWritten() throws Exception {
        Path cifar = Files.write(dir.resolve("test_batch.bin"), new byte[2 * 3073]);
        Path out = dir.resolve("never");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Pipeline.run(PipelineTest.small(PipelineTest.RESNET, out).eval(cifar).build(), new InProcessExecutor(1)));
        assertEquals(cifar + ": images are 3x32x32, the model takes 1x28x28 (a different channel count)", e.getMessage());
        assertFalse(Files.exists(out));

        Path eleven = pngFolder(dir.resolve("eleven"), 30);
        Files.createDirectories(eleven.resolve("9z"));
        ImageIO.write(new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY), "png", eleven.resolve("9z/x.png").toFile());
        e = assertThrows(IllegalArgumentException.class,
                () -> Pipeline.run(PipelineTest.small(PipelineTest.RESNET, out).eval(eleven).build(), new InProcessExecutor(1)));
        assertEquals(eleven + ": labels go up to 10 (11 classes), the model has 10 outputs", e.getMessage());
        assertFalse(Files.exists(out));

        Path realPng = pngFolder(dir.resolve("real"), 40);
        e = assertThrows(IllegalArgumentException.class, () -> Pipeline.run(PipelineTest.small(PipelineTest.RESNET, out).method("real")
                .realData(cifar).build(), new InProcessExecutor(1)));
        assertTrue(e.getMessage().startsWith(cifar + ": images are 3x32x32"), e.getMessage());
    }

    @Test
    void theRealDataBoundReadsAnImageFolder() throws Exception {
        Path realPng = pngFolder(dir.resolve("real"), 40);
        Path calib = dir.resolve("calib");
        Plan.Synthesize syn = new Plan.Synthesize(io.zsq.synth.Method.parse("real"), 32, 16, 0, 0.5, 1, realPng);
        Plan.Normalization norm = new Plan.Normalization("0.2860", "0.3530");
        QuantizeReport.SynthesisReport r = Pipeline.synthesize(PipelineTest.RESNET, calib, norm, syn, new InProcessExecutor(2), true);
        assertEquals(2, r.batches());
        LabeledImages train = LabeledImages.read(realPng, LabeledImages.Split.TRAIN, 32, ImageTransform.NONE, new int[] {1, 28, 28});
        io.zsq.synth.ArrowDataset.Read second = io.zsq.synth.ArrowDataset.read(io.zsq.synth.ArrowDataset.batchFile(calib, 1));
        assertArrayEquals(train.batch(16, 16, norm.preprocessing()), second.images(), "batch 1 is images 16-31 of the folder, preprocessed");
    }
}
