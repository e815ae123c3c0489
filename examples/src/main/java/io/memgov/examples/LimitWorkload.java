package io.memgov.examples;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

/**
 * Allocates 1 MiB float arrays (DJL or ND4J) against whatever limit memgov was given, and reports
 * what a user would see. Args: djl|nd4j fill|too-big|wait-release|wait-timeout.
 * <ul>
 * <li>fill: allocate until refused, print how many fit and the error; close all; allocate again.</li>
 * <li>too-big: allocate one array of 2 MiB; then a small one.</li>
 * <li>wait-release: another thread holds 4 arrays and closes them after 300 ms; allocate one more.</li>
 * <li>wait-timeout: another thread holds 4 arrays and never closes them; allocate one more.</li>
 * </ul>
 */
public final class LimitWorkload {
    static final long MIB_FLOATS = (1 << 20) / 4;

    private LimitWorkload() {
    }

    /** One framework's 1 MiB allocation, closeable. */
    interface Arrays {
        AutoCloseable allocate(long floats);
    }

    public static void main(String[] args) throws Exception {
        String framework = args[0];
        String mode = args[1];
        NDManager djl = framework.equals("djl") ? NDManager.newBaseManager() : null;
        Arrays arrays = djl != null
                ? floats -> djl.zeros(new Shape(floats))
                : floats -> Nd4j.create(DataType.FLOAT, floats);
        arrays.allocate(1).close(); // the framework's own start-up allocations first
        switch (mode) {
            case "fill":
                fill(arrays);
                break;
            case "too-big":
                refused(() -> arrays.allocate(2 * MIB_FLOATS));
                arrays.allocate(MIB_FLOATS).close();
                System.out.println("usable again");
                break;
            case "wait-release":
            case "wait-timeout":
                waitFor(arrays, mode.equals("wait-release"));
                break;
            default:
                throw new IllegalArgumentException(mode);
        }
        if (djl != null) {
            djl.close();
        }
        System.out.println("done");
    }

    static void fill(Arrays arrays) throws Exception {
        List<AutoCloseable> held = new ArrayList<>();
        try {
            for (int i = 0; i < 1000; i++) {
                held.add(arrays.allocate(MIB_FLOATS));
            }
            System.out.println("never refused");
        } catch (OutOfMemoryError e) {
            System.out.println("fitted=" + held.size());
            System.out.println("refused: " + e.getMessage());
        }
        for (AutoCloseable a : held) {
            a.close();
        }
        arrays.allocate(MIB_FLOATS).close();
        System.out.println("usable again");
    }

    static void refused(java.util.concurrent.Callable<AutoCloseable> allocation) throws Exception {
        try {
            allocation.call().close();
            System.out.println("never refused");
        } catch (OutOfMemoryError e) {
            System.out.println("refused: " + e.getMessage());
        }
    }

    static void waitFor(Arrays arrays, boolean release) throws Exception {
        List<AutoCloseable> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            held.add(arrays.allocate(MIB_FLOATS));
        }
        Thread holder = new Thread(() -> {
            try {
                Thread.sleep(300);
                if (release) {
                    for (AutoCloseable a : held) {
                        a.close();
                    }
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        holder.start();
        long t0 = System.nanoTime();
        refusedOrWaited(arrays, t0);
        holder.join();
        if (!release) {
            for (AutoCloseable a : held) {
                a.close();
            }
        }
    }

    static void refusedOrWaited(Arrays arrays, long t0) throws Exception {
        try {
            arrays.allocate(MIB_FLOATS).close();
            System.out.println("waited.ms=" + (System.nanoTime() - t0) / 1_000_000);
        } catch (OutOfMemoryError e) {
            System.out.println("refused after ms=" + (System.nanoTime() - t0) / 1_000_000 + ": " + e.getMessage());
        }
    }
}
