package io.memgov.examples.spark;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * One partition's work on an executor: {@code models} DJL models (SequentialBlocks of {@code layers}
 * biased 512x512 Linear layers and a 16-wide output, built and seeded in code) and {@code arrays} ND4J
 * float arrays of {@code mib} MiB, all alive at once; then {@code requests} rounds, each an inference
 * request to a model drawn with a skew and an ND4J op (a reduction, a matrix product, an in-place update or
 * a copy) over an array drawn at random. Everything is closed at the end. Returns
 * {@code partition=P digest=HEX ms=N}: the digest covers every output's bits.
 */
final class PartitionWork {
    static final int WIDTH = 512;
    static final int OUT = 16;
    static final int BATCH = 4;

    private PartitionWork() {
    }

    static String run(int partition, int models, int layers, int requests, int arrays, int mib) {
        long t0 = System.nanoTime();
        CRC32 digest = new CRC32();
        Engine.getInstance().setRandomSeed(1000 + partition);
        Nd4j.getRandom().setSeed(2000 + partition);
        Random rnd = new Random(partition);
        int elements = mib * (1 << 20) / 4;
        int side = (int) Math.sqrt(elements);
        List<Model> nets = new ArrayList<>();
        List<INDArray> data = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int i = 0; i < models; i++) {
                Model model = Model.newInstance("p" + partition + "-model-" + i);
                SequentialBlock block = new SequentialBlock();
                for (int l = 0; l < layers; l++) {
                    block.add(Linear.builder().setUnits(WIDTH).build()).add(Activation::relu);
                }
                block.add(Linear.builder().setUnits(OUT).build());
                model.setBlock(block);
                block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(BATCH, WIDTH));
                nets.add(model);
            }
            for (int i = 0; i < arrays; i++) {
                data.add(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, elements));
            }
            INDArray vector = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, side, 1);
            ParameterStore ps = new ParameterStore(manager, false);
            float[] input = new float[BATCH * WIDTH];
            for (int r = 0; r < requests; r++) {
                for (int i = 0; i < input.length; i++) {
                    input[i] = (float) rnd.nextGaussian();
                }
                double u = rnd.nextDouble();
                int m = (int) (models * u * u);
                try (NDManager request = manager.newSubManager()) {
                    NDArray x = request.create(input, new Shape(BATCH, WIDTH));
                    NDList out = nets.get(m).getBlock().forward(ps, new NDList(x), false);
                    for (float f : out.singletonOrThrow().toFloatArray()) {
                        update(digest, f);
                    }
                }
                INDArray a = data.get(rnd.nextInt(arrays));
                switch (rnd.nextInt(4)) {
                    case 0:
                        update(digest, a.sumNumber().floatValue());
                        break;
                    case 1: {
                        INDArray product = a.reshape(side, elements / side)
                                .get(NDArrayIndex.all(), NDArrayIndex.interval(0, side)).mmul(vector);
                        update(digest, product.sumNumber().floatValue());
                        product.close();
                        break;
                    }
                    case 2:
                        a.muli(0.5f).addi(0.25f);
                        update(digest, a.getFloat(rnd.nextInt(elements)));
                        break;
                    default: {
                        INDArray copy = a.dup();
                        copy.muli(data.get(rnd.nextInt(arrays)));
                        update(digest, copy.maxNumber().floatValue());
                        copy.close();
                    }
                }
            }
            vector.close();
        } finally {
            for (Model model : nets) {
                model.close();
            }
            for (INDArray a : data) {
                a.close();
            }
        }
        return "partition=" + partition + " digest=" + Long.toHexString(digest.getValue())
                + " ms=" + (System.nanoTime() - t0) / 1_000_000;
    }

    private static void update(CRC32 digest, float f) {
        int bits = Float.floatToIntBits(f);
        digest.update(new byte[]{(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)});
    }
}
