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
 * each epoch under the agent] [{@code toggle}: see {@link #TOGGLE}].
 */
public final class MlpTraining {
    private MlpTraining() {
    }

    /**
     * A diagnostic for the agent's per-tensor cost, less noisy than comparing separate JVMs: under the
     * agent, the governor is uninstalled in half the timed epochs (in the order of {@link EpochHalves},
     * which cancels drift) so its hooks return at once, and the CPU time of governed and ungoverned
     * epochs is printed ({@code toggle.governed.ms}, {@code toggle.ungoverned.ms}, {@code toggle.ratio}).
     * The agent's own counts (its summary) mean nothing in this mode.
     */
    static final String TOGGLE = "toggle";

    /**
     * What the agent's C heap trimming costs the loop, measured in one JVM: {@code memgov.native.trim}
     * is switched off in half the timed epochs in the same pattern as {@link #TOGGLE} (a live change,
     * see {@link TrimSwitch}), and the wall time of the epochs with trimming on and off is printed
     * ({@code trim.on.ms}, {@code trim.off.ms}, {@code trim.ratio}, {@code trim.ratio.nogc}): wall time,
     * since the trims and RSS reads run on the governor's thread. Needs the agent with a {@code host.limit}.
     */
    static final String TRIM_TOGGLE = "trim-toggle";

    public static void main(String[] args) {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int batches = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        int hidden = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        boolean marks = args.length <= 3 || !args[3].equals("no-checkpoints");
        boolean toggle = args.length > 4 && args[4].equals(TOGGLE);
        boolean trimToggle = args.length > 4 && args[4].equals(TRIM_TOGGLE);
        float[] losses = train(epochs, batches, hidden, 32, 64, marks, toggle, trimToggle);
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
        return train(epochs, batches, hidden, batchSize, features, true, false, false);
    }

    /**
     * Trains and returns the mean loss of each epoch; {@code marks}: log a labelled report after each
     * epoch when the agent is attached (the tests' instrument; a benchmark of the loop leaves it out);
     * {@code toggle}: see {@link #TOGGLE}; {@code trimToggle}: see {@link #TRIM_TOGGLE}.
     */
    static float[] train(int epochs, int batches, int hidden, int batchSize, int features, boolean marks,
                         boolean toggle, boolean trimToggle) {
        Engine.getInstance().setRandomSeed(42);
        float[][][] data = data(batches, batchSize, features);
        float[][] xs = data[0];
        float[][] ys = data[1];
        float[] losses = new float[epochs];
        SequentialBlock net = net(hidden);
        long[] governedCpu = new long[2]; // with toggle: [ungoverned, governed] epochs' CPU time
        EpochHalves trimmed = new EpochHalves(); // with trimToggle: epochs' wall time, trimming off / on
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
                GovernorSwitch governor = toggle ? GovernorSwitch.find() : null;
                TrimSwitch trim = trimToggle ? TrimSwitch.find() : null;
                for (int e = 0; e < epochs; e++) {
                    boolean governed = e == 0 || EpochHalves.first(e - 1); // epoch 0 is not timed
                    if (governor != null) {
                        governor.install(governed);
                    }
                    if (trim != null) {
                        trim.set(governed);
                    }
                    if (trim != null) {
                        trimmed.start();
                    }
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
                        long cpu = cpuNanos() - c0;
                        loopCpu += cpu;
                        governedCpu[governed ? 1 : 0] += cpu;
                        if (trim != null) {
                            trimmed.end(governed);
                        }
                        lastLoopNanos = loop;
                        lastLoopCpuNanos = loopCpu;
                    }
                    // outside the timed loop: the labelled report is the tests' instrument, not the
                    // workload's (under the agent it costs about 0.4 ms, mostly interpreted code)
                    if (marks) {
                        Checkpoints.mark("epoch-" + e, -1);
                    }
                }
                if (governor != null) {
                    governor.install(true);
                }
                if (trim != null) {
                    trim.set(true);
                }
            }
        }
        if (toggle) {
            System.out.println("toggle.governed.ms=" + governedCpu[1] / 1_000_000);
            System.out.println("toggle.ungoverned.ms=" + governedCpu[0] / 1_000_000);
            System.out.println("toggle.ratio=" + (double) governedCpu[1] / governedCpu[0]);
        }
        if (trimToggle) {
            trimmed.print("trim");
        }
        return losses;
    }

    /** The synthetic regression data, fixed seed: {inputs[batch], labels[batch]}. */
    static float[][][] data(int batches, int batchSize, int features) {
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
        return new float[][][]{xs, ys};
    }

    /** The MLP: two hidden layers of {@code hidden} units with ReLU, one output. */
    static SequentialBlock net(int hidden) {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(hidden).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(hidden).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(1).build());
    }

    /** The agent's governor, reached by reflection (this program does not depend on memgov). */
    private static final class GovernorSwitch {
        private final Object instance;
        private final java.lang.reflect.Method install;

        private GovernorSwitch(Object instance, java.lang.reflect.Method install) {
            this.instance = instance;
            this.install = install;
        }

        static GovernorSwitch find() {
            try {
                Class<?> type = Class.forName("io.memgov.runtime.Governor");
                java.lang.reflect.Method current = type.getMethod("current");
                Object g = current.invoke(null);
                if (g == null) {
                    throw new IllegalStateException("toggle: no memgov governor is installed (run with -javaagent)");
                }
                for (java.lang.reflect.Method m : type.getMethods()) { // install(the governor's instance type)
                    if (m.getName().equals("install") && m.getParameterCount() == 1
                            && m.getParameterTypes()[0].isInstance(g)) {
                        return new GovernorSwitch(g, m);
                    }
                }
                throw new IllegalStateException("toggle: this memgov has no Governor.install");
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("toggle: run with -javaagent:memgov-agent.jar (" + e + ")", e);
            }
        }

        void install(boolean on) {
            try {
                install.invoke(null, on ? instance : null);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static long cpuNanos() {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        return threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : 0;
    }
}
