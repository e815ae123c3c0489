package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;

/**
 * The worst case for per-tensor bookkeeping: a tight loop of tiny ops, each creating and closing one
 * 1,000-element float32 array. Prints the median ns per op over several rounds, then each round's.
 * Args: [iterations per round, default 300000] [rounds, default 7].
 */
public final class TinyOps {
    private static final int WARMUP = 200_000;

    private TinyOps() {
    }

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 300_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        if (iterations <= 0 || rounds <= 0) {
            throw new IllegalArgumentException("iterations and rounds must be positive");
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray x = manager.randomUniform(0f, 1f, new Shape(1000));
            NDArray y = manager.randomUniform(0f, 1f, new Shape(1000));
            for (int i = 0; i < WARMUP; i++) {
                x.add(y).close();
            }
            double[] nsPerOp = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < iterations; i++) {
                    x.add(y).close();
                }
                nsPerOp[r] = (System.nanoTime() - t0) / (double) iterations;
            }
            double[] sorted = nsPerOp.clone();
            Arrays.sort(sorted);
            int n = sorted.length;
            double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            System.out.println("tinyops.ns.per.op=" + String.format(java.util.Locale.ROOT, "%.1f", median));
            for (int r = 0; r < rounds; r++) {
                System.out.println("round " + r + " ns.per.op=" + String.format(java.util.Locale.ROOT, "%.1f", nsPerOp[r]));
            }
        }
    }
}
