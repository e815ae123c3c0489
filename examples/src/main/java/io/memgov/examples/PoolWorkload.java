package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

/**
 * DJL workloads that would show a buffer pool's mistakes: reuse while a tensor still points into a
 * buffer, stale bytes in a new array, races between threads. Each prints what it checked; run it
 * with and without the agent (and with pooling off) and compare.
 * Args: {@code mixed [rounds]} | {@code zeros [rounds]} | {@code outlive [rounds]} |
 * {@code threads [threads] [iterations]} | {@code bench [iterations] [floats]}.
 */
public final class PoolWorkload {
    private PoolWorkload() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "mixed";
        switch (mode) {
            case "mixed":
                mixed(args.length > 1 ? Integer.parseInt(args[1]) : 40);
                break;
            case "zeros":
                zeros(args.length > 1 ? Integer.parseInt(args[1]) : 20);
                break;
            case "outlive":
                outlive(args.length > 1 ? Integer.parseInt(args[1]) : 20);
                break;
            case "threads":
                threads(args.length > 1 ? Integer.parseInt(args[1]) : 8, args.length > 2 ? Integer.parseInt(args[2]) : 300);
                break;
            case "bench":
                bench(args.length > 1 ? Integer.parseInt(args[1]) : 2000, args.length > 2 ? Integer.parseInt(args[2]) : 262144);
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + mode);
        }
        System.out.println("done");
    }

    static float[] data(Random r, int n) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = r.nextFloat() * 2 - 1;
        }
        return d;
    }

    static void digest(CRC32 crc, NDArray a) {
        for (float f : a.toFloatArray()) {
            int b = Float.floatToRawIntBits(f);
            crc.update(b);
            crc.update(b >>> 8);
            crc.update(b >>> 16);
            crc.update(b >>> 24);
        }
    }

    /**
     * Views, dup, concat, set, half of the arrays closed at once and the rest later in a scrambled
     * order, sizes in and out of the pooled classes: prints a CRC32 of every result's bits.
     *
     * <p>A view is closed before its base here: DJL (0.36) itself keeps the direct buffer of a
     * zero-copy array only through that array, and close() drops it, so without memgov's pool a view
     * that outlives its closed base reads freed memory once the GC runs (a crash or garbage; see
     * {@link #outlive}, which memgov's pool makes correct). This workload stays within what plain DJL
     * runs correctly, so its figures compare with and without the agent.
     */
    static void mixed(int rounds) {
        Random r = new Random(11);
        CRC32 crc = new CRC32();
        long results = 0;
        int[] sizes = {100, 4096, 5000, 16384, 20000, 65536, 262144};
        try (NDManager m = NDManager.newBaseManager()) {
            List<NDArray[]> alive = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                int n = sizes[r.nextInt(sizes.length)];
                NDArray a = m.create(data(r, n));
                NDArray b = m.create(data(r, n));
                if (round % 3 == 0) {
                    a.set(FloatBuffer.wrap(data(r, n)));             // a now points into another buffer
                }
                NDArray view = a.reshape(n / 4, 4);                 // a view: shares a's buffer
                NDArray slice = b.get(new NDIndex("1:" + (n / 2)));  // a view of b
                NDArray dup = a.duplicate();
                NDArray sum = view.add(1f);
                NDArray cat = NDArrays.concat(new NDList(a, b));
                NDArray c = m.create(data(r, n));
                NDArray d = m.create(data(r, n)).mul(c);
                for (NDArray x : new NDArray[]{a, b, view, slice, dup, sum, cat, c, d}) {
                    digest(crc, x);
                    results++;
                }
                // groups close together, a view before its base; half close now, half later
                NDArray[][] groups = {{view, a}, {slice, b}, {dup}, {sum}, {cat}, {c}, {d}};
                for (NDArray[] g : groups) {
                    if (r.nextBoolean()) {
                        alive.add(g);
                    } else {
                        for (NDArray x : g) {
                            x.close();
                        }
                    }
                }
                while (alive.size() > 20) {
                    for (NDArray x : alive.remove(r.nextInt(alive.size()))) {
                        digest(crc, x);
                        results++;
                        x.close();
                    }
                }
            }
            for (NDArray[] g : alive) {
                for (NDArray x : g) {
                    digest(crc, x);
                    results++;
                }
            }
        }
        System.out.println("mixed results=" + results + " crc=" + Long.toHexString(crc.getValue()));
    }

    /** Buffers filled with non-zero bytes are released; new arrays that must read as zeros follow. */
    static void zeros(int rounds) {
        Random r = new Random(5);
        long nonZero = 0;
        long checked = 0;
        int[] sizes = {16384, 20000, 65536, 262144};
        try (NDManager m = NDManager.newBaseManager()) {
            for (int round = 0; round < rounds; round++) {
                int n = sizes[round % sizes.length];
                for (int i = 0; i < 4; i++) {
                    float[] junk = data(r, n);
                    junk[0] = 1;
                    m.create(junk).close();
                }
                NDArray[] fresh = {
                        m.create(new float[n]),
                        m.create(new float[n / 2 + 1000]),               // a smaller request of a class
                        m.zeros(new Shape(n)),
                };
                NDArray set = m.create(data(r, n));
                set.set(FloatBuffer.wrap(new float[n]));
                for (NDArray x : new NDArray[]{fresh[0], fresh[1], fresh[2], set}) {
                    for (float f : x.toFloatArray()) {
                        checked++;
                        if (Float.floatToRawIntBits(f) != 0) {
                            nonZero++;
                        }
                    }
                }
                for (NDArray x : fresh) {
                    x.close();
                }
                set.close();
            }
        }
        System.out.println("zeros checked=" + checked + " nonzero=" + nonZero);
    }

    /**
     * Views and arrays rebound by set() outlive the array they came from; many arrays of the same
     * size follow. Every survivor must still read its own data.
     */
    static void outlive(int rounds) {
        Random r = new Random(3);
        int n = 65536;
        long wrong = 0;
        long checked = 0;
        try (NDManager m = NDManager.newBaseManager()) {
            List<NDArray> survivors = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                float[] d = data(r, n);
                NDArray base = m.create(d);
                survivors.add(base.reshape(256, 256));
                expected.add(d);
                survivors.add(base.get(new NDIndex("0:1000")));
                expected.add(java.util.Arrays.copyOf(d, 1000));
                NDArray rebound = m.create(data(r, n));
                NDArray before = rebound.reshape(n);                 // still over the first buffer
                float[] first = before.toFloatArray();
                float[] second = data(r, n);
                rebound.set(FloatBuffer.wrap(second));
                survivors.add(before);
                expected.add(first);
                survivors.add(rebound);
                expected.add(second);
                base.close();                                        // the views keep its buffer
                for (int i = 0; i < 6; i++) {
                    m.create(data(r, n)).close();                    // would reuse a wrongly released buffer
                }
            }
            for (int i = 0; i < survivors.size(); i++) {
                float[] got = survivors.get(i).toFloatArray();
                float[] want = expected.get(i);
                checked += want.length;
                for (int j = 0; j < want.length; j++) {
                    if (Float.floatToRawIntBits(got[j]) != Float.floatToRawIntBits(want[j])) {
                        wrong++;
                    }
                }
            }
        }
        System.out.println("outlive checked=" + checked + " wrong=" + wrong);
    }

    /** Threads create and close arrays of pooled sizes, each checking its own data every time. */
    static void threads(int threads, int iterations) throws Exception {
        AtomicLong corrupt = new AtomicLong();
        AtomicLong creates = new AtomicLong();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Thread> all = new ArrayList<>();
        try (NDManager root = NDManager.newBaseManager()) {
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    Random r = new Random(id);
                    int[] sizes = {16384, 20000, 65536};
                    try (NDManager m = root.newSubManager()) {
                        List<NDArray> held = new ArrayList<>();
                        List<Float> marks = new ArrayList<>();
                        for (int i = 0; i < iterations; i++) {
                            int n = sizes[r.nextInt(sizes.length)];
                            float mark = id * 100_000 + i;
                            float[] d = new float[n];
                            java.util.Arrays.fill(d, mark);
                            NDArray a = m.create(d);
                            creates.incrementAndGet();
                            held.add(a);
                            marks.add(mark);
                            if (held.size() > 3 || r.nextBoolean()) {
                                int k = r.nextInt(held.size());
                                NDArray x = held.remove(k);
                                float want = marks.remove(k);
                                for (float f : x.toFloatArray()) {
                                    if (f != want) {
                                        corrupt.incrementAndGet();
                                    }
                                }
                                x.close();
                            }
                        }
                        for (int k = 0; k < held.size(); k++) {
                            float want = marks.get(k);
                            for (float f : held.get(k).toFloatArray()) {
                                if (f != want) {
                                    corrupt.incrementAndGet();
                                }
                            }
                            held.get(k).close();
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                th.start();
                all.add(th);
            }
            for (Thread th : all) {
                th.join();
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException("a thread failed", errors.get(0));
        }
        System.out.println("threads creates=" + creates.get() + " corrupt=" + corrupt.get());
    }

    /**
     * The pooling benchmark: {@code iterations} times create an array from a float[] of
     * {@code floats} elements and close it. Prints the loop's time and the process's peak RSS.
     */
    static void bench(int iterations, int floats) throws Exception {
        float[] d = new float[floats];
        for (int i = 0; i < floats; i++) {
            d[i] = i;
        }
        double check = 0;
        try (NDManager m = NDManager.newBaseManager()) {
            for (int i = 0; i < 200; i++) {
                m.create(d).close(); // engine start-up and the JIT's first compilations out of the timed loop
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                NDArray a = m.create(d);
                if (i % 100 == 0) {
                    check += a.getFloat(floats - 1);
                }
                a.close();
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("bench.ms=" + ms + " check=" + check);
        }
        System.out.println("rss.peak.kb=" + peakRssKb());
    }

    /** VmHWM of /proc/self/status (Linux), in KiB; -1 elsewhere. */
    static long peakRssKb() {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Paths.get("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return -1;
    }
}
