package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * 8 threads sharing and mutating DJL arrays for a bounded number of iterations. Each thread mutates
 * arrays of its own (in place) and reads arrays shared by all, checking every value it can predict.
 * Prints "stress ok" or the first wrong values, and exits 1 on any wrong value or unexpected error.
 * Args: [threads, default 8] [iterations per thread, default 150].
 */
public final class SpillStress {
    static final long ELEMENTS = (1 << 20) / 4; // 1 MiB of float32

    private SpillStress() {
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 150;
        int own = 4;
        int sharedCount = 8;
        AtomicInteger wrong = new AtomicInteger();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray[] shared = new NDArray[sharedCount];
            for (int i = 0; i < sharedCount; i++) {
                shared[i] = manager.full(new Shape(ELEMENTS), i + 1f);
            }
            NDArray[][] mine = new NDArray[threads][own];
            int[][] counts = new int[threads][own];
            for (int t = 0; t < threads; t++) {
                for (int k = 0; k < own; k++) {
                    mine[t][k] = manager.zeros(new Shape(ELEMENTS));
                }
            }
            runWorkers(threads, errors, id -> {
                Random rnd = new Random(id);
                for (int i = 0; i < iterations; i++) {
                    int k = rnd.nextInt(own);
                    int j = rnd.nextInt(sharedCount);
                    switch (rnd.nextInt(4)) {
                        case 0:
                            mine[id][k].addi(1f);
                            counts[id][k]++;
                            break;
                        case 1:
                            check(shared[j].getFloat(rnd.nextInt((int) ELEMENTS)), j + 1f, wrong, "shared " + j);
                            break;
                        case 2: // a copy out to Java of a whole array
                            float[] all = mine[id][k].toFloatArray();
                            check(all[rnd.nextInt(all.length)], counts[id][k], wrong, "copy of " + id + "/" + k);
                            break;
                        default:
                            try (NDArray c = mine[id][k].add(shared[j])) {
                                check(c.getFloat(rnd.nextInt((int) ELEMENTS)), counts[id][k] + j + 1f, wrong,
                                        "thread " + id + " array " + k + " + shared " + j);
                            }
                    }
                }
            });
            for (int t = 0; t < threads; t++) {
                for (int k = 0; k < own; k++) {
                    check(mine[t][k].getFloat(0), counts[t][k], wrong, "final " + t + "/" + k);
                    check(mine[t][k].getFloat(ELEMENTS - 1), counts[t][k], wrong, "final " + t + "/" + k);
                }
            }
        }
        finish(wrong, errors);
    }

    /**
     * Runs {@code body(id)} on {@code threads} threads named {@code stress-<id>} and waits for all;
     * whatever a body throws goes into {@code errors}.
     */
    static void runWorkers(int threads, List<Throwable> errors, java.util.function.IntConsumer body)
            throws InterruptedException {
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread w = new Thread(() -> {
                try {
                    body.accept(id);
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "stress-" + t);
            workers.add(w);
            w.start();
        }
        for (Thread w : workers) {
            w.join();
        }
    }

    /** Prints the errors; exits 1 on any wrong value or error, else prints "stress ok". */
    static void finish(AtomicInteger wrong, List<Throwable> errors) {
        for (Throwable e : errors) {
            System.out.println("error: " + e);
            e.printStackTrace(System.out);
        }
        if (wrong.get() > 0 || !errors.isEmpty()) {
            System.out.println("stress FAILED wrong=" + wrong.get() + " errors=" + errors.size());
            System.exit(1);
        }
        System.out.println("stress ok");
    }

    static void check(float actual, float expected, AtomicInteger wrong, String what) {
        if (actual != expected) {
            if (wrong.incrementAndGet() <= 10) {
                System.out.println("wrong value in " + what + ": " + actual + " expected " + expected);
            }
        }
    }
}
