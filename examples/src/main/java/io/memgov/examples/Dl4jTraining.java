package io.memgov.examples;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Random;

/**
 * A real DL4J training run: a small MultiLayerNetwork built in code (default workspace modes),
 * trained on synthetic regression data made in code with fixed seeds. Prints each epoch's score with
 * its exact bits, and the training loop's time. Args: [epochs] [batches] [hidden] [{@code trim-toggle}:
 * under the agent with a {@code host.limit}, {@code memgov.native.trim} is switched off in half the
 * {@value #TRIM_BLOCKS} blocks of batches of each epoch from {@value #TRIM_WARM_UP} (in the order of {@link EpochHalves},
 * a live change each time, see {@link TrimSwitch}), and the wall time of the blocks with trimming on and
 * off is printed: {@code trim.on.ms}, {@code trim.off.ms}, {@code trim.ratio}, {@code trim.ratio.nogc}].
 */
public final class Dl4jTraining {
    /**
     * {@code trim-toggle} blocks an epoch: 5 batches each of 40, about 12 ms, longer than a trim (2-7
     * ms). A power of two, so that each block's place in its epoch falls in either half equally often
     * (an epoch's first block, after its print and report, runs slower; with 10 blocks an epoch the
     * order put most first blocks in one half: the identical halves of the control measured 1.026x).
     */
    static final int TRIM_BLOCKS = 8;
    /**
     * {@code trim-toggle} times the epochs from this one: the loop's first epochs take 2-4 times as
     * long as later ones (the JIT still compiles), a drift no order of the halves cancels (the control's
     * identical halves measured 1.04x apart, timed from epoch 1: the first block is the slowest).
     */
    static final int TRIM_WARM_UP = 5;

    private Dl4jTraining() {
    }

    public static void main(String[] args) {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int batches = args.length > 1 ? Integer.parseInt(args[1]) : 40;
        int hidden = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        TrimSwitch trim = args.length > 3 && args[3].equals(MlpTraining.TRIM_TOGGLE) ? TrimSwitch.find() : null;
        EpochHalves trimmed = new EpochHalves();
        int block = 0; // the timed block's index, from 0
        int batchSize = 32;
        int features = 64;
        Random rnd = new Random(7);
        DataSet[] data = new DataSet[batches];
        for (int b = 0; b < batches; b++) {
            float[] x = new float[batchSize * features];
            float[] y = new float[batchSize];
            for (int i = 0; i < batchSize; i++) {
                float t = 0;
                for (int f = 0; f < features; f++) {
                    float v = (float) rnd.nextGaussian();
                    x[i * features + f] = v;
                    t += v * ((f % 7) - 3) * 0.1f;
                }
                y[i] = (float) Math.tanh(t);
            }
            INDArray xs = Nd4j.create(x, new long[]{batchSize, features});
            INDArray ys = Nd4j.create(y, new long[]{batchSize, 1});
            data[b] = new DataSet(xs, ys);
        }
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(42)
                .dataType(DataType.FLOAT)
                .weightInit(WeightInit.XAVIER)
                .updater(new Sgd(0.01))
                .list()
                .layer(new DenseLayer.Builder().nIn(features).nOut(hidden).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(hidden).nOut(hidden).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(hidden).nOut(1)
                        .activation(Activation.IDENTITY).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        long t0 = System.nanoTime();
        long loop = 0;
        for (int e = 0; e < epochs; e++) {
            double total = 0;
            for (int b = 0, next = 0; b < batches; b++) {
                if (trim != null && e >= TRIM_WARM_UP && b == next) { // block j of this epoch starts at batch j * batches / TRIM_BLOCKS
                    if (b > 0) {
                        trimmed.end(EpochHalves.first(block++));
                    }
                    trim.set(EpochHalves.first(block));
                    trimmed.start();
                    int j = block % TRIM_BLOCKS + 1;
                    next = j * batches / TRIM_BLOCKS;
                }
                net.fit(data[b]);
                total += net.score();
            }
            if (trim != null && e >= TRIM_WARM_UP) {
                trimmed.end(EpochHalves.first(block++));
            }
            double score = total / batches;
            System.out.println("epoch " + e + " score=" + score + " bits=" + Long.toHexString(Double.doubleToLongBits(score)));
            // the first epoch warms up the JIT: the loop's time is that of the epochs after it
            if (e == 0) {
                t0 = System.nanoTime();
            } else {
                loop = System.nanoTime() - t0;
            }
            Checkpoints.mark("epoch-" + e, -1);
        }
        System.out.println("train.ms=" + loop / 1_000_000);
        if (trim != null) {
            trim.set(true);
            trimmed.print("trim");
        }
    }
}
