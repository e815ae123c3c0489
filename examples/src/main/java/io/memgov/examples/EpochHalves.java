package io.memgov.examples;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * The two halves of a loop's timed spans (epochs, or blocks of batches) that an in-JVM comparison
 * switches something on and off for, and the wall time each half took. The halves alternate in the
 * Thue-Morse order (on, off, off, on, off, on, on, off, ...: a span's half is the parity of its
 * index's one bits), which cancels a drift of the loop's speed linear or quadratic in time, such as
 * the JIT's warm-up over the first epochs. Pairs alternated plainly (on, on, off, off, ...) do not:
 * the first half is always two spans earlier, and measured a DL4J loop's two identical halves 1.027x
 * apart (median of 10 runs). Spans in which the Java GC collected are counted apart too: a young pause
 * of the DL4J loop takes 70-140 ms, most of an epoch, and lands in either half by chance. So are the
 * spans right after one ({@code settled}: neither they nor the span before collected): the DL4J loop's
 * slowest spans without a collection came right after one (30-34 ms of its thread's own CPU time,
 * against 10-15 for a span), and left in they made the ratio of one JVM's halves spread 4.2% (sd of 8
 * control JVMs), out 2.6%.
 *
 * <p>With {@code -Dspans.dump=true} {@link #print} also prints each span: its half (1 on, 0 off), wall
 * nanoseconds, whether the GC collected in it (1 or 0) and the timing thread's CPU nanoseconds.
 */
final class EpochHalves {
    private static final List<GarbageCollectorMXBean> GCS = ManagementFactory.getGarbageCollectorMXBeans();
    private static final java.lang.management.ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private final long[] nanos = new long[2];
    private final int[] spans = new int[2];
    private final long[] quietNanos = new long[2]; // spans without a collection
    private final int[] quiet = new int[2];
    private final long[] settledNanos = new long[2]; // spans without a collection in them or the span before
    private final int[] settled = new int[2];
    private long startNanos;
    private long startGcs = -1;
    private long lastStartGcs; // collections when the span before this one started (this one's, for the first)
    private final StringBuilder dump = Boolean.getBoolean("spans.dump") ? new StringBuilder() : null;
    private long startCpu;

    /** Timed span {@code s} (from 0) is in the first half (the one with the thing switched on). */
    static boolean first(int s) {
        return Integer.bitCount(s) % 2 == 0;
    }

    /** A span starts now. */
    void start() {
        long gcs = collections();
        lastStartGcs = startGcs < 0 ? gcs : startGcs;
        startGcs = gcs;
        if (dump != null) {
            startCpu = THREADS.getCurrentThreadCpuTime();
        }
        startNanos = System.nanoTime();
    }

    /** The span started last ended now: it counts in the first half or the other. */
    void end(boolean first) {
        long wall = System.nanoTime() - startNanos;
        int h = first ? 1 : 0;
        nanos[h] += wall;
        spans[h]++;
        long endGcs = collections();
        boolean collected = endGcs != startGcs;
        if (dump != null) {
            dump.append(h).append(' ').append(wall).append(' ').append(collected ? 1 : 0).append(' ')
                    .append(THREADS.getCurrentThreadCpuTime() - startCpu).append('\n');
        }
        if (!collected) {
            quietNanos[h] += wall;
            quiet[h]++;
            if (endGcs == lastStartGcs) { // nor since the span before started (the untimed gap between included)
                settledNanos[h] += wall;
                settled[h]++;
            }
        }
    }

    private static long collections() {
        long sum = 0;
        for (int i = 0; i < GCS.size(); i++) {
            sum += GCS.get(i).getCollectionCount();
        }
        return sum;
    }

    /**
     * Prints {@code name.on.ms} and {@code name.off.ms} (each half's wall time), their spans,
     * {@code name.ratio} (a span's mean wall time on over off) and {@code name.ratio.nogc} (the same
     * over the spans in which the GC did not collect, {@code name.spans.nogc} of them) and
     * {@code name.ratio.settled} (the same over the spans in which neither they nor the span before
     * collected, {@code name.spans.settled}).
     */
    void print(String name) {
        if (dump != null) {
            System.out.print("spans:\n" + dump + "spans end\n");
        }
        System.out.println(name + ".on.ms=" + nanos[1] / 1_000_000);
        System.out.println(name + ".off.ms=" + nanos[0] / 1_000_000);
        System.out.println(name + ".spans=" + spans[1] + "/" + spans[0]);
        System.out.println(name + ".ratio=" + ((double) nanos[1] / spans[1]) / ((double) nanos[0] / spans[0]));
        System.out.println(name + ".spans.nogc=" + quiet[1] + "/" + quiet[0]);
        System.out.println(name + ".ratio.nogc=" + ((double) quietNanos[1] / quiet[1]) / ((double) quietNanos[0] / quiet[0]));
        System.out.println(name + ".spans.settled=" + settled[1] + "/" + settled[0]);
        System.out.println(name + ".ratio.settled=" + ((double) settledNanos[1] / settled[1]) / ((double) settledNanos[0] / settled[0]));
    }
}
