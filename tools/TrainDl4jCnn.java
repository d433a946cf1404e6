// Trains the bundled DL4J Fashion-MNIST CNN (BatchNorm after every convolution) and saves it as a
// MultiLayerNetwork zip. Outside the Java build; run with the zsq-core classpath:
//   tools/train-dl4j.sh [epochs] [out.zip]
// Needs Debian's dataset-fashion-mnist. Seeded; DL4J on CPU.

import io.zsq.core.data.IdxDataset;
import io.zsq.core.data.Preprocessing;
import java.io.File;
import java.nio.file.Path;
import java.util.Random;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

public class TrainDl4jCnn {
    public static void main(String[] args) throws Exception {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        String out = args.length > 1 ? args[1] : "src/models/fmnist-dl4j-cnn.zip";
        Path data = Path.of("/usr/share/datasets/fashion-mnist");
        Preprocessing pre = Preprocessing.parse("0.2860", "0.3530");
        IdxDataset train = IdxDataset.load(data, "train", 0);
        IdxDataset test = IdxDataset.load(data, "t10k", 0);
        int batch = 64;
        int itersPerEpoch = train.count() / batch;
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(7).weightInit(WeightInit.RELU)
                .updater(new Adam(new MapSchedule.Builder(ScheduleType.ITERATION)
                        .add(0, 2e-3).add(itersPerEpoch * Math.max(1, epochs - 1), 5e-4).build()))
                .l2(1e-4)
                .list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(32).padding(1, 1).hasBias(false).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(64).padding(1, 1).hasBias(false).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(64).padding(1, 1).hasBias(false).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(128).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        Random rnd = new Random(7);
        int[] order = new int[train.count()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        for (int e = 0; e < epochs; e++) {
            long t0 = System.nanoTime();
            for (int i = order.length - 1; i > 0; i--) { int j = rnd.nextInt(i + 1); int t = order[i]; order[i] = order[j]; order[j] = t; }
            for (int it = 0; it < itersPerEpoch; it++) {
                float[] x = new float[batch * 784];
                float[] y = new float[batch * 10];
                for (int b = 0; b < batch; b++) {
                    int idx = order[it * batch + b];
                    System.arraycopy(train.batch(idx, 1, pre), 0, x, b * 784, 784);
                    y[b * 10 + train.labels()[idx]] = 1;
                }
                net.fit(Nd4j.create(x, new long[] {batch, 784}, 'c'), Nd4j.create(y, new long[] {batch, 10}, 'c'));
            }
            int correct = 0;
            for (int from = 0; from < test.count(); from += 500) {
                INDArray p = net.output(Nd4j.create(test.batch(from, 500, pre), new long[] {500, 784}, 'c'), false);
                INDArray am = p.argMax(1);
                for (int i = 0; i < 500; i++) if (am.getInt(i) == test.labels()[from + i]) correct++;
            }
            System.out.printf("epoch %d: test top-1 %.2f%% (%.0f s)%n", e + 1, correct / 100.0, (System.nanoTime() - t0) / 1e9);
        }
        net.save(new File(out), false);
        System.out.println("saved " + out);
    }
}
