package io.memgov.examples;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * 8 threads sharing and mutating ND4J arrays for a bounded number of iterations. Each thread mutates
 * arrays of its own (in place, and element by element) and reads arrays shared by all (elements,
 * ops, views, dup), checking every value it can predict. Prints "stress ok" or the first wrong
 * values, and exits 1 on any wrong value or unexpected error.
 * Args: [threads, default 8] [iterations per thread, default 150].
 */
public final class Nd4jSpillStress {
    static final int ELEMENTS = (1 << 20) / 4; // 1 MiB of float32

    private Nd4jSpillStress() {
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 150;
        int own = 4;
        int sharedCount = 8;
        AtomicInteger wrong = new AtomicInteger();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        INDArray[] shared = new INDArray[sharedCount];
        for (int i = 0; i < sharedCount; i++) {
            shared[i] = Nd4j.valueArrayOf(new long[]{ELEMENTS}, i + 1f, DataType.FLOAT);
        }
        INDArray[][] mine = new INDArray[threads][own];
        int[][] counts = new int[threads][own];
        for (int t = 0; t < threads; t++) {
            for (int k = 0; k < own; k++) {
                mine[t][k] = Nd4j.zeros(DataType.FLOAT, ELEMENTS);
            }
        }
        SpillStress.runWorkers(threads, errors, id -> {
            Random rnd = new Random(id);
            for (int i = 0; i < iterations; i++) {
                int k = rnd.nextInt(own);
                int j = rnd.nextInt(sharedCount);
                INDArray m = mine[id][k];
                switch (rnd.nextInt(5)) {
                    case 0: // in place, natively
                        m.addi(1f);
                        counts[id][k]++;
                        break;
                    case 1: // element by element: the first and last stay equal to the count
                        m.putScalar(0, m.getFloat(0L) + 1f);
                        m.putScalar(ELEMENTS - 1, m.getFloat(ELEMENTS - 1L) + 1f);
                        m.putScalar(1, m.getFloat(1L) + 1f);
                        m.addi(0f); // keep the rest in step: add 1 everywhere else below
                        m.get(NDArrayIndex.interval(2, ELEMENTS - 1)).addi(1f);
                        counts[id][k]++;
                        break;
                    case 2:
                        check(shared[j].getFloat(rnd.nextInt(ELEMENTS)), j + 1f, wrong, "shared " + j);
                        break;
                    case 3: { // a copy, and a whole-array op over it
                        INDArray copy = m.dup();
                        check(copy.getFloat(rnd.nextInt(ELEMENTS)), counts[id][k], wrong, "dup of " + id + "/" + k);
                        check(copy.sumNumber().floatValue(), (float) ((double) counts[id][k] * ELEMENTS), wrong, "sum of " + id + "/" + k);
                        copy.close();
                        break;
                    }
                    default: {
                        INDArray c = m.add(shared[j]);
                        check(c.getFloat(rnd.nextInt(ELEMENTS)), counts[id][k] + j + 1f, wrong,
                                "thread " + id + " array " + k + " + shared " + j);
                        c.close();
                    }
                }
            }
        });
        for (int t = 0; t < threads; t++) {
            for (int k = 0; k < own; k++) {
                check(mine[t][k].getFloat(0L), counts[t][k], wrong, "final " + t + "/" + k);
                check(mine[t][k].getFloat(ELEMENTS / 2L), counts[t][k], wrong, "final " + t + "/" + k);
                check(mine[t][k].getFloat(ELEMENTS - 1L), counts[t][k], wrong, "final " + t + "/" + k);
            }
        }
        SpillStress.finish(wrong, errors);
    }

    static void check(float actual, float expected, AtomicInteger wrong, String what) {
        SpillStress.check(actual, expected, wrong, what);
    }
}
