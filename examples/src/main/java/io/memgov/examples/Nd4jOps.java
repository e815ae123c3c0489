package io.memgov.examples;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.Locale;

/**
 * Allocation-heavy ND4J: create a 1 MiB float array, {@code addi} a scalar, close it; repeated.
 * Prints the median µs per iteration over several rounds. Args: [iterations per round] [rounds].
 */
public final class Nd4jOps {
    private Nd4jOps() {
    }

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        long elements = (1 << 20) / 4;
        for (int i = 0; i < iterations; i++) {
            step(elements);
        }
        double[] us = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                step(elements);
            }
            us[r] = (System.nanoTime() - t0) / 1000.0 / iterations;
        }
        double[] sorted = us.clone();
        Arrays.sort(sorted);
        System.out.println("nd4jops.us.per.op=" + String.format(Locale.ROOT, "%.2f", sorted[rounds / 2]));
    }

    static void step(long elements) {
        INDArray a = Nd4j.create(DataType.FLOAT, elements);
        a.addi(1f);
        a.close();
    }
}
