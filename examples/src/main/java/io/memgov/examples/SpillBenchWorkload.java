package io.memgov.examples;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Sequential passes over a DJL working set, for the spill benchmark: N float32 arrays of M MiB each
 * (fixed seed), then P passes over all of them in order, each step a native {@code sum()} of one array.
 * Under a HOST limit smaller than the working set, every step restores an array that was spilled and
 * spills the least recently used one: the worst case for an LRU, and the pure cost of the spill path.
 *
 * <p>Prints {@code baseline.rss.kb} (VmHWM after the engine loaded and one tiny op ran, before the big
 * arrays), {@code seq.mb.per.s} (MiB summed per second over the passes: N*M*P / seconds),
 * {@code acc} (the float bits of the sum of all sums, in hex: the same with and without a limit) and
 * {@code peak.rss.kb} (VmHWM at the end). Args: [arrays, default 32] [MiB each, default 4] [passes, default 5]
 * [{@code djl} (default) or {@code nd4j}: the same passes over ND4J arrays] [{@code random}: as many
 * steps, each summing an array drawn at random (seeded), instead of passes in order].
 */
public final class SpillBenchWorkload {
    private SpillBenchWorkload() {
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        int mib = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int passes = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        long elements = (long) mib * (1 << 20) / 4;
        STEPS = steps(n, passes, args.length > 4 && args[4].equals("random"));
        if (args.length > 3 && args[3].equals("nd4j")) {
            nd4j(n, mib, passes, elements);
            return;
        }
        Engine.getInstance().setRandomSeed(42);
        float acc = 0f;
        double seconds;
        try (NDManager manager = NDManager.newBaseManager()) {
            // engine loaded, one tiny op: the process's floor before any big tensor
            try (NDArray tiny = manager.ones(new Shape(2, 2)); NDArray t = tiny.add(1f)) {
                t.getFloat(0, 0);
            }
            System.out.println("baseline.rss.kb=" + vmHwmKb());
            List<NDArray> arrays = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                arrays.add(manager.randomUniform(0f, 1f, new Shape(elements)));
            }
            long t0 = System.nanoTime();
            for (int k : STEPS) {
                try (NDArray s = arrays.get(k).sum()) {
                    acc += s.getFloat();
                }
            }
            seconds = (System.nanoTime() - t0) / 1e9;
        }
        double mb = (double) n * mib * passes;
        System.out.println(String.format(Locale.ROOT, "seq.mb.per.s=%.1f", mb / seconds));
        System.out.println("acc=" + Integer.toHexString(Float.floatToIntBits(acc)));
        System.out.println("peak.rss.kb=" + vmHwmKb());
    }

    /** The same passes over ND4J arrays: {@code sumNumber()} of each (a native reduction). */
    private static void nd4j(int n, int mib, int passes, long elements) {
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(42);
        try (org.nd4j.linalg.api.ndarray.INDArray tiny = org.nd4j.linalg.factory.Nd4j.ones(2, 2)) {
            tiny.addi(1f).sumNumber();
        }
        System.out.println("baseline.rss.kb=" + vmHwmKb());
        List<org.nd4j.linalg.api.ndarray.INDArray> arrays = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            arrays.add(org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, elements));
        }
        float acc = 0f;
        long t0 = System.nanoTime();
        for (int k : STEPS) {
            acc += arrays.get(k).sumNumber().floatValue();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        for (org.nd4j.linalg.api.ndarray.INDArray a : arrays) {
            a.close();
        }
        double mb = (double) n * mib * passes;
        System.out.println(String.format(Locale.ROOT, "seq.mb.per.s=%.1f", mb / seconds));
        System.out.println("acc=" + Integer.toHexString(Float.floatToIntBits(acc)));
        System.out.println("peak.rss.kb=" + vmHwmKb());
    }

    /** The arrays summed, in order: passes in order, or (random) as many steps in a seeded random order. */
    static int[] STEPS;

    static int[] steps(int n, int passes, boolean random) {
        int[] steps = new int[n * passes];
        java.util.Random rnd = new java.util.Random(5);
        for (int i = 0; i < steps.length; i++) {
            steps[i] = random ? rnd.nextInt(n) : i % n;
        }
        return steps;
    }

    /** VmHWM (peak resident set) of this process in KiB, from /proc/self/status; -1 where unavailable. */
    static long vmHwmKb() {
        return status("VmHWM:");
    }

    /** VmRSS (resident set now) of this process in KiB; -1 where unavailable. */
    static long vmRssKb() {
        return status("VmRSS:");
    }

    private static long status(String key) {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: no figure
        }
        return -1;
    }
}
