package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Prefetch races with use, close and in-place writes of the same tensors. {@code arrays} arrays of
 * 1 MiB, each filled with one small integer; {@code threads} threads walk them in the same order, pass
 * after pass (a pattern memgov's prefetcher learns, so it restores arrays ahead of the walkers), and at
 * each step, under that array's lock (the program is correct without memgov), do one of: check its
 * value (a native read), add 1 in place, or replace it by a new array of another value and close the
 * old one. memgov's prefetch thread takes no application lock: it races all of them. Every value is
 * checked against what the program wrote. Prints "stress ok". Args: {@code djl|nd4j threads arrays passes}.
 */
public final class PrefetchStress {
    static final int ELEMENTS = (1 << 20) / 4;

    private PrefetchStress() {
    }

    /** One array of the set, as either framework's. */
    interface Slot {
        float first();

        float last();

        void addOne();

        Slot replace(float value);

        void close();
    }

    public static void main(String[] args) throws Exception {
        String fw = args.length > 0 ? args[0] : "djl";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 24;
        int passes = args.length > 3 ? Integer.parseInt(args[3]) : 20;
        NDManager manager = fw.equals("djl") ? NDManager.newBaseManager() : null;
        Slot[] slots = new Slot[n];
        float[] expected = new float[n];
        ReentrantLock[] locks = new ReentrantLock[n];
        for (int i = 0; i < n; i++) {
            expected[i] = 1 + i % 8;
            slots[i] = manager != null ? djl(manager, expected[i]) : nd4j(expected[i]);
            locks[i] = new ReentrantLock();
        }
        AtomicInteger wrong = new AtomicInteger();
        AtomicInteger replaced = new AtomicInteger();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        SpillStress.runWorkers(threads, errors, id -> {
            for (int p = 0; p < passes; p++) {
                for (int i = 0; i < n; i++) {
                    locks[i].lock();
                    try {
                        int what = (p * 31 + i * 7 + id) % 20;
                        if (what == 0) {
                            slots[i].addOne();
                            expected[i] = expected[i] + 1;
                        } else if (what == 1) {
                            float v = 1 + (i + p) % 8;
                            Slot old = slots[i];
                            slots[i] = old.replace(v);
                            old.close();
                            expected[i] = v;
                            replaced.incrementAndGet();
                        } else {
                            SpillStress.check(slots[i].first(), expected[i], wrong, "array " + i + " first");
                            SpillStress.check(slots[i].last(), expected[i], wrong, "array " + i + " last");
                        }
                    } finally {
                        locks[i].unlock();
                    }
                }
            }
        });
        for (int i = 0; i < n; i++) {
            SpillStress.check(slots[i].first(), expected[i], wrong, "final " + i);
            slots[i].close();
        }
        if (manager != null) {
            manager.close();
        }
        System.out.println("replaced=" + replaced.get());
        SpillStress.finish(wrong, errors);
    }

    static Slot djl(NDManager manager, float value) {
        NDArray a = manager.full(new Shape(ELEMENTS), value);
        return new Slot() {
            public float first() {
                return a.getFloat(0);
            }

            public float last() {
                try (NDArray s = a.get(ELEMENTS - 1)) { // a view of the array, read natively
                    return s.getFloat();
                }
            }

            public void addOne() {
                a.addi(1f);
            }

            public Slot replace(float v) {
                return djl(manager, v);
            }

            public void close() {
                a.close();
            }
        };
    }

    static Slot nd4j(float value) {
        INDArray a = Nd4j.valueArrayOf(new long[]{ELEMENTS}, value, org.nd4j.linalg.api.buffer.DataType.FLOAT);
        return new Slot() {
            public float first() {
                return a.getFloat(0);
            }

            public float last() {
                return a.maxNumber().floatValue(); // a native reduction over the whole array
            }

            public void addOne() {
                a.addi(1f);
            }

            public Slot replace(float v) {
                return nd4j(v);
            }

            public void close() {
                a.close();
            }
        };
    }
}
