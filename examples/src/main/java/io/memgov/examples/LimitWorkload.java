package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

/**
 * Allocates 1 MiB float arrays (DJL or ND4J) against whatever limit memgov was given, and reports
 * what a user would see. Args: djl|nd4j fill|fill-check|refuse-many|too-big|huge|wait-release|wait-timeout.
 * <ul>
 * <li>fill: allocate until refused, print how many fit and the error; close all; allocate again.</li>
 * <li>fill-check: as fill, each array filled with its index + 1; after the refusal, read every array back,
 * newest first, closing each (the spilled ones are restored), and print "values intact=N" or "array i WRONG v".</li>
 * <li>refuse-many: hold arrays until refused, then 200 more refusals at once, then one more 1.1 s later;
 * print "refused=N".</li>
 * <li>too-big: allocate one array of 2 MiB; then a small one.</li>
 * <li>huge: allocate one array of 256 MiB (zeros); print by how much peak RSS grew meanwhile
 * ({@code hwm.growth.kb}); then a small one.</li>
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
            case "fill-check":
                fillCheck(djl);
                break;
            case "refuse-many":
                refuseMany(arrays);
                break;
            case "too-big":
                refused(() -> arrays.allocate(2 * MIB_FLOATS));
                arrays.allocate(MIB_FLOATS).close();
                System.out.println("usable again");
                break;
            case "huge": {
                long before = SpillBenchWorkload.vmHwmKb();
                refused(() -> arrays.allocate(256 * MIB_FLOATS));
                System.out.println("hwm.growth.kb=" + (SpillBenchWorkload.vmHwmKb() - before));
                arrays.allocate(MIB_FLOATS).close();
                System.out.println("usable again");
                break;
            }
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

    static void fillCheck(NDManager djl) throws Exception {
        List<AutoCloseable> held = new ArrayList<>();
        try {
            for (int i = 0; i < 1000; i++) {
                float v = i + 1f;
                held.add(djl != null ? djl.full(new Shape(MIB_FLOATS), v) : Nd4j.create(DataType.FLOAT, MIB_FLOATS).assign(v));
            }
            System.out.println("never refused");
        } catch (OutOfMemoryError e) {
            System.out.println("fitted=" + held.size());
            System.out.println("refused: " + e.getMessage());
        }
        // newest first, each closed once read: the resident ones (among them any whose spill failed) make
        // room for the spilled ones to come back
        int intact = 0;
        for (int i = held.size() - 1; i >= 0; i--) {
            Object a = held.get(i);
            boolean ok = true;
            for (long at : new long[] {0, MIB_FLOATS / 2, MIB_FLOATS - 1}) {
                float v = a instanceof NDArray ? ((NDArray) a).getFloat(at) : ((INDArray) a).getFloat(at);
                if (v != i + 1f) {
                    System.out.println("array " + i + " WRONG " + v);
                    ok = false;
                }
            }
            intact += ok ? 1 : 0;
            held.get(i).close();
        }
        System.out.println("values intact=" + intact);
        (djl != null ? djl.zeros(new Shape(MIB_FLOATS)) : Nd4j.create(DataType.FLOAT, MIB_FLOATS)).close();
        System.out.println("usable again");
    }

    static void refuseMany(Arrays arrays) throws Exception {
        List<AutoCloseable> held = new ArrayList<>();
        int refused = 0;
        try {
            for (int i = 0; i < 1000; i++) {
                held.add(arrays.allocate(MIB_FLOATS));
            }
        } catch (OutOfMemoryError e) {
            refused++;
        }
        for (int i = 0; i < 200; i++) {
            try {
                arrays.allocate(MIB_FLOATS).close();
            } catch (OutOfMemoryError e) {
                refused++;
            }
        }
        Thread.sleep(1100);
        try {
            arrays.allocate(MIB_FLOATS).close();
        } catch (OutOfMemoryError e) {
            refused++;
        }
        System.out.println("refused=" + refused);
        for (AutoCloseable a : held) {
            a.close();
        }
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
