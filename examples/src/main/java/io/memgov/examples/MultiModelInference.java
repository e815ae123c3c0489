package io.memgov.examples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * A multi-model inference service in one JVM: {@code models} networks built in code (DJL
 * SequentialBlocks of biased Linear layers, or DL4J MultiLayerNetworks of biased dense layers),
 * optionally saved and loaded back ({@code Model.save}/{@code Model.load}, {@code ModelSerializer}),
 * then {@code requests} single requests whose model is drawn with a skew (a few models take most of
 * the traffic). Each of the {@code layers} hidden layers holds 512×512 floats (1 MiB), so the
 * weights are about {@code models × layers} MiB. Prints a digest of every output's bits, the
 * weights' size, the throughput and the p50/p99 latency of the requests.
 *
 * <p>Args: {@code djl|dl4j models layers requests [built|saved] [warmup]}.
 */
public final class MultiModelInference {
    static final int WIDTH = 512;
    static final int OUT = 16;
    static final int BATCH = 4;

    private MultiModelInference() {
    }

    /** One model of the service: answers a request (a batch of inputs) with its output's floats. */
    interface Served {
        float[] infer(float[] input);
    }

    public static void main(String[] args) throws Exception {
        String framework = args.length > 0 ? args[0] : "djl";
        int models = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int layers = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        int requests = args.length > 3 ? Integer.parseInt(args[3]) : 400;
        boolean saved = args.length > 4 && args[4].equals("saved");
        int warmup = args.length > 5 ? Integer.parseInt(args[5]) : Math.min(50, requests / 4);
        Path dir = saved ? Files.createTempDirectory("memgov-models-") : null;
        Served[] served = new Served[models];
        AutoCloseable resources;
        if (framework.equals("djl")) {
            resources = djl(served, layers, dir);
        } else if (framework.equals("dl4j")) {
            resources = dl4j(served, layers, dir);
            System.out.println("weights.bytes=" + (long) models * (layers * (WIDTH * WIDTH + WIDTH) + WIDTH * OUT + OUT) * 4L);
        } else {
            throw new IllegalArgumentException("framework: djl or dl4j, not " + framework);
        }
        Random pick = new Random(11);
        float[][] inputs = new float[8][BATCH * WIDTH];
        for (float[] in : inputs) {
            for (int i = 0; i < in.length; i++) {
                in[i] = (float) pick.nextGaussian();
            }
        }
        long digest = 1125899906842597L;
        long[] latencies = new long[requests];
        long t0 = 0;
        for (int r = 0; r < warmup + requests; r++) {
            if (r == warmup) {
                t0 = System.nanoTime();
            }
            // skewed: model 0 takes about a third of the requests, the last ones a few percent
            double u = pick.nextDouble();
            int m = (int) (models * u * u * u);
            float[] input = inputs[r % inputs.length];
            long s = System.nanoTime();
            float[] out = served[m].infer(input);
            long took = System.nanoTime() - s;
            if (r >= warmup) {
                latencies[r - warmup] = took;
            }
            for (float f : out) {
                digest = 31 * digest + Float.floatToRawIntBits(f);
            }
            digest = 31 * digest + m;
        }
        long wall = System.nanoTime() - t0;
        resources.close();
        if (dir != null) {
            try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Arrays.sort(latencies);
        System.out.println("requests=" + requests + " throughput.rps=" + String.format("%.1f", requests * 1e9 / wall)
                + " p50.us=" + latencies[requests / 2] / 1000 + " p99.us=" + latencies[(int) (requests * 0.99)] / 1000);
        System.out.println("digest=" + Long.toHexString(digest));
        System.out.println("rss.peak.kb=" + vmHwmKb());
    }

    /** The process's peak resident set (VmHWM in /proc/self/status), in KiB, or -1. */
    static long vmHwmKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return -1;
    }

    // ---------------------------------------------------------------- DJL

    static Block djlBlock(int layers) {
        SequentialBlock block = new SequentialBlock();
        for (int l = 0; l < layers; l++) {
            block.add(Linear.builder().setUnits(WIDTH).build()).add(Activation::relu);
        }
        block.add(Linear.builder().setUnits(OUT).build());
        return block;
    }

    static AutoCloseable djl(Served[] served, int layers, Path dir) throws Exception {
        Engine.getInstance().setRandomSeed(42);
        NDManager manager = NDManager.newBaseManager();
        Model[] models = new Model[served.length];
        long weights = 0;
        for (int i = 0; i < served.length; i++) {
            Model model = Model.newInstance("model-" + i);
            Block block = djlBlock(layers);
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(BATCH, WIDTH));
            if (dir != null) {
                model.save(dir, "model-" + i);
                model.close();
                model = Model.newInstance("model-" + i);
                model.setBlock(djlBlock(layers));
                model.load(dir, "model-" + i); // parameters decoded from the file (Model.load)
            }
            models[i] = model;
            for (ai.djl.util.Pair<String, ai.djl.nn.Parameter> p : model.getBlock().getParameters()) {
                weights += p.getValue().getArray().size() * 4L;
            }
        }
        System.out.println("weights.bytes=" + weights);
        for (int i = 0; i < served.length; i++) {
            Model model = models[i];
            ParameterStore ps = new ParameterStore(manager, false);
            served[i] = input -> {
                try (NDManager request = manager.newSubManager()) {
                    NDArray x = request.create(input, new Shape(BATCH, WIDTH));
                    NDList out = model.getBlock().forward(ps, new NDList(x), false);
                    return out.singletonOrThrow().toFloatArray();
                }
            };
        }
        return () -> {
            for (Model m : models) {
                m.close();
            }
            manager.close();
        };
    }

    // ---------------------------------------------------------------- DL4J

    static AutoCloseable dl4j(Served[] served, int layers, Path dir) throws Exception {
        for (int i = 0; i < served.length; i++) {
            NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                    .seed(42 + i)
                    .dataType(org.nd4j.linalg.api.buffer.DataType.FLOAT)
                    .weightInit(WeightInit.XAVIER)
                    .list();
            for (int l = 0; l < layers; l++) {
                list.layer(new DenseLayer.Builder().nIn(WIDTH).nOut(WIDTH).hasBias(true)
                        .activation(org.nd4j.linalg.activations.Activation.RELU).build());
            }
            MultiLayerConfiguration conf = list.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE)
                    .nIn(WIDTH).nOut(OUT).hasBias(true).activation(org.nd4j.linalg.activations.Activation.IDENTITY).build())
                    .build();
            MultiLayerNetwork net = new MultiLayerNetwork(conf);
            net.init();
            if (dir != null) {
                java.io.File file = dir.resolve("net-" + i + ".zip").toFile();
                ModelSerializer.writeModel(net, file, false);
                net.close();
                net = ModelSerializer.restoreMultiLayerNetwork(file, false);
            }
            MultiLayerNetwork served1 = net;
            served[i] = input -> {
                try (INDArray x = Nd4j.create(input, new long[]{BATCH, WIDTH});
                     INDArray out = served1.output(x)) {
                    float[] f = new float[BATCH * OUT];
                    for (int b = 0; b < BATCH; b++) {
                        for (int o = 0; o < OUT; o++) {
                            f[b * OUT + o] = out.getFloat(b, o);
                        }
                    }
                    return f;
                }
            };
        }
        return () -> {
        };
    }
}