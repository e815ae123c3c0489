package io.memgov.examples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;

import java.util.Random;

/**
 * A real DJL training loop: an MLP built in code, trained on synthetic regression data made in
 * code with a fixed seed. Prints each epoch's loss with its exact bits, so runs compare bit for bit.
 * Args: [epochs] [batches per epoch] [hidden width] [{@code no-checkpoints}: no labelled report after
 * each epoch under the agent].
 */
public final class MlpTraining {
    private MlpTraining() {
    }

    public static void main(String[] args) {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int batches = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        int hidden = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        boolean marks = args.length <= 3 || !args[3].equals("no-checkpoints");
        float[] losses = train(epochs, batches, hidden, 32, 64, marks);
        long ms = lastLoopNanos / 1_000_000;
        for (int e = 0; e < losses.length; e++) {
            System.out.println("epoch " + e + " loss=" + losses[e] + " bits=" + Integer.toHexString(Float.floatToIntBits(losses[e])));
        }
        // the training loop alone, after a first (warm-up) epoch: engine start-up, data and model
        // set-up, the JIT's first compilations and the per-epoch checkpoints are not in it
        System.out.println("train.ms=" + ms);
        // the same span in this thread's CPU time: less sensitive to the machine's other load
        System.out.println("cpu.ms=" + lastLoopCpuNanos / 1_000_000);
    }

    /** Wall time of the last {@link #train} call's epochs after the first (the first warms up the JIT), checkpoints excluded. */
    static volatile long lastLoopNanos;
    /** The same span as {@link #lastLoopNanos} in the training thread's CPU time (0 where the JVM cannot measure it). */
    static volatile long lastLoopCpuNanos;

    /** Trains and returns the mean loss of each epoch. */
    public static float[] train(int epochs, int batches, int hidden, int batchSize, int features) {
        return train(epochs, batches, hidden, batchSize, features, true);
    }

    /**
     * Trains and returns the mean loss of each epoch; {@code marks}: log a labelled report after each
     * epoch when the agent is attached (the tests' instrument; a benchmark of the loop leaves it out).
     */
    public static float[] train(int epochs, int batches, int hidden, int batchSize, int features, boolean marks) {
        Engine.getInstance().setRandomSeed(42);
        Random rnd = new Random(7);
        float[][] xs = new float[batches][batchSize * features];
        float[][] ys = new float[batches][batchSize];
        for (int b = 0; b < batches; b++) {
            for (int i = 0; i < batchSize; i++) {
                float y = 0;
                for (int f = 0; f < features; f++) {
                    float v = (float) rnd.nextGaussian();
                    xs[b][i * features + f] = v;
                    y += v * ((f % 7) - 3) * 0.1f;
                }
                ys[b][i] = (float) Math.tanh(y);
            }
        }
        float[] losses = new float[epochs];
        SequentialBlock net = new SequentialBlock()
                .add(Linear.builder().setUnits(hidden).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(hidden).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(1).build());
        try (Model model = Model.newInstance("mlp")) {
            model.setBlock(net);
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).build());
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(batchSize, features));
                NDManager manager = trainer.getManager();
                long loop = 0;
                long loopCpu = 0;
                lastLoopNanos = 0;
                lastLoopCpuNanos = 0;
                for (int e = 0; e < epochs; e++) {
                    long t0 = System.nanoTime();
                    long c0 = cpuNanos();
                    double total = 0;
                    for (int b = 0; b < batches; b++) {
                        try (NDManager batch = manager.newSubManager()) {
                            NDArray x = batch.create(xs[b], new Shape(batchSize, features));
                            NDArray y = batch.create(ys[b], new Shape(batchSize, 1));
                            try (GradientCollector gc = trainer.newGradientCollector()) {
                                NDArray pred = trainer.forward(new NDList(x)).singletonOrThrow();
                                NDArray loss = trainer.getLoss().evaluate(new NDList(y), new NDList(pred));
                                gc.backward(loss);
                                total += loss.getFloat();
                            }
                            trainer.step();
                        }
                    }
                    losses[e] = (float) (total / batches);
                    if (e > 0) {
                        loop += System.nanoTime() - t0;
                        loopCpu += cpuNanos() - c0;
                        lastLoopNanos = loop;
                        lastLoopCpuNanos = loopCpu;
                    }
                    // outside the timed loop: the labelled report is the tests' instrument, not the
                    // workload's (under the agent it costs about 0.4 ms, mostly interpreted code)
                    if (marks) {
                        Checkpoints.mark("epoch-" + e, -1);
                    }
                }
            }
        }
        return losses;
    }

    private static long cpuNanos() {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        return threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : 0;
    }
}
