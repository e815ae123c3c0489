package io.memgov.examples;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

/**
 * ND4J workloads that would show a buffer pool's mistakes (stale bytes in a new array, reuse while
 * an array still uses its memory, races), and the allocation loops of the pool benchmark. Each prints
 * what it checked or measured; run it with and without the agent (and with pooling off) and compare.
 * Args: {@code mixed [rounds]} | {@code zeros [rounds]} | {@code threads [threads] [iterations]} |
 * {@code bench create|uninit|noclose [iterations] [floats]}.
 */
public final class Nd4jPoolWorkload {
    private Nd4jPoolWorkload() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "mixed";
        switch (mode) {
            case "mixed":
                mixed(arg(args, 1, 40));
                break;
            case "zeros":
                zeros(arg(args, 1, 20));
                break;
            case "threads":
                threads(arg(args, 1, 8), arg(args, 2, 300));
                break;
            case "bench":
                bench(args.length > 1 ? args[1] : "create", arg(args, 2, 2000), arg(args, 3, 262144));
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + mode);
        }
        System.out.println("done");
    }

    static int arg(String[] args, int i, int otherwise) {
        return args.length > i ? Integer.parseInt(args[i]) : otherwise;
    }

    static void digest(CRC32 crc, INDArray a) {
        for (float f : a.data().asFloat()) {
            int bits = Float.floatToIntBits(f);
            crc.update(bits);
            crc.update(bits >>> 8);
            crc.update(bits >>> 16);
            crc.update(bits >>> 24);
        }
    }

    /**
     * Creation in several ways, views, dup, mmul, concat, a buffer grown by reallocate; half the arrays
     * closed, half dropped for the GC. Prints a CRC of every result.
     */
    static void mixed(int rounds) {
        Nd4j.getRandom().setSeed(7);
        Random r = new Random(11);
        CRC32 crc = new CRC32();
        int results = 0;
        List<INDArray> kept = new ArrayList<>();
        for (int i = 0; i < rounds; i++) {
            int n = 4096 * (1 + r.nextInt(64)); // 16 KiB .. 1 MiB of floats: pooled sizes
            INDArray a = Nd4j.rand(DataType.FLOAT, n);
            float[] data = new float[n];
            for (int k = 0; k < n; k++) {
                data[k] = r.nextFloat();
            }
            INDArray b = Nd4j.create(data);
            INDArray z = Nd4j.create(DataType.FLOAT, n);
            INDArray u = Nd4j.createUninitialized(DataType.FLOAT, n).assign(0.5f);
            INDArray view = a.get(NDArrayIndex.interval(n / 4, n / 2));
            INDArray sum = b.add(z).addi(u).muli(a);
            INDArray copy = sum.dup();
            INDArray cat = Nd4j.concat(0, view, copy.get(NDArrayIndex.interval(0, 1000)));
            INDArray m = a.reshape(n / 64, 64).mmul(b.get(NDArrayIndex.interval(0, 64)).reshape(64, 1));
            for (INDArray x : new INDArray[]{sum, copy, cat, m, view}) {
                digest(crc, x);
                results++;
            }
            if (i % 5 == 0) { // a buffer that grows (libnd4j copies a pooled block into memory of its own)
                org.nd4j.linalg.api.buffer.DataBuffer grown = Nd4j.createBuffer(DataType.FLOAT, n, true);
                grown.assign(copy.data());
                grown.reallocate(n + 4096);
                grown.put(n + 4095, 1.5f);
                int bits = Float.floatToIntBits(grown.getFloat(n - 1) + grown.getFloat(n + 4095));
                crc.update(bits);
                results++;
                grown.close();
            }
            if (i % 2 == 0) {
                for (INDArray x : new INDArray[]{a, b, z, u, sum, copy, cat, m}) {
                    x.close();
                }
            } else if (i % 4 == 1) {
                kept.add(copy); // kept for later checks, the rest dropped for the GC
            }
        }
        for (INDArray k : kept) {
            digest(crc, k);
            results++;
        }
        System.out.println("mixed results=" + results + " crc=" + Long.toHexString(crc.getValue()));
    }

    /**
     * Arrays full of non-zero bytes are closed, then arrays that must read as zeros are created over
     * the sizes just released: every element is checked.
     */
    static void zeros(int rounds) {
        long checked = 0;
        long nonzero = 0;
        int[] sizes = {4096, 5000, 16384, 262144};
        for (int i = 0; i < rounds; i++) {
            for (int n : sizes) {
                for (int k = 0; k < 4; k++) {
                    Nd4j.valueArrayOf(new long[]{n}, 7f + k, DataType.FLOAT).close();
                    Nd4j.createUninitialized(DataType.FLOAT, n).assign(-3f).close();
                }
                INDArray[] zero = {Nd4j.create(DataType.FLOAT, n), Nd4j.zeros(DataType.FLOAT, n), Nd4j.create(DataType.FLOAT, n / 2 + 100)};
                for (INDArray z : zero) {
                    for (float f : z.data().asFloat()) {
                        checked++;
                        if (f != 0f) {
                            nonzero++;
                        }
                    }
                    z.close();
                }
            }
        }
        System.out.println("checked=" + checked + " nonzero=" + nonzero);
    }

    /** Threads creating, checking and closing arrays of their own values, with views and copies. */
    static void threads(int threads, int iterations) throws InterruptedException {
        AtomicLong creates = new AtomicLong();
        AtomicLong corrupt = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread w = new Thread(() -> {
                Random r = new Random(id);
                try {
                    for (int i = 0; i < iterations; i++) {
                        int n = 4096 * (1 + r.nextInt(16));
                        float v = id * 1000 + i;
                        INDArray a = Nd4j.valueArrayOf(new long[]{n}, v, DataType.FLOAT);
                        INDArray z = Nd4j.create(DataType.FLOAT, n);
                        creates.addAndGet(2);
                        z.addi(a);
                        for (int k = 0; k < 8; k++) {
                            int at = r.nextInt(n);
                            if (a.getFloat((long) at) != v || z.getFloat((long) at) != v) {
                                corrupt.incrementAndGet();
                            }
                        }
                        if (z.sumNumber().doubleValue() != (double) v * n && Math.abs(z.sumNumber().doubleValue() - (double) v * n) > 1e-3 * v * n) {
                            corrupt.incrementAndGet();
                        }
                        a.close();
                        z.close();
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "pool-" + t);
            workers.add(w);
            w.start();
        }
        for (Thread w : workers) {
            w.join();
        }
        for (Throwable e : errors) {
            e.printStackTrace(System.out);
        }
        System.out.println("creates=" + creates.get() + " corrupt=" + corrupt.get() + " errors=" + errors.size());
    }

    /**
     * The pool benchmark's loops over arrays of {@code floats} floats: {@code create} (create +
     * close), {@code uninit} (createUninitialized + close), {@code noclose} (create, one write, and
     * dropped for the GC: the workload never calls System.gc()). Prints the time of the second half
     * (after warm-up: {@code bench.ms}, and µs per iteration) and the peak RSS ({@code rss.peak.kb}).
     */
    static void bench(String what, int iterations, int floats) {
        long t0 = 0;
        int warm = iterations / 2;
        for (int i = 0; i < iterations; i++) {
            if (i == warm) {
                t0 = System.nanoTime();
            }
            switch (what) {
                case "create":
                    Nd4j.create(DataType.FLOAT, floats).close();
                    break;
                case "uninit":
                    Nd4j.createUninitialized(DataType.FLOAT, floats).close();
                    break;
                case "noclose":
                    Nd4j.create(DataType.FLOAT, floats).putScalar(0, 1f);
                    break;
                default:
                    throw new IllegalArgumentException("unknown bench " + what);
            }
        }
        long nanos = System.nanoTime() - t0;
        System.out.println(String.format(Locale.ROOT, "bench=%s us.per.op=%.2f", what, nanos / 1e3 / (iterations - warm)));
        System.out.println("bench.ms=" + nanos / 1_000_000);
        System.out.println("rss.peak.kb=" + SpillBenchWorkload.vmHwmKb());
    }
}
