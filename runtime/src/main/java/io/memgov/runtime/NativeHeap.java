package io.memgov.runtime;

import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Gives memory that the C heap keeps back to the operating system. libtorch and libnd4j free tensor
 * memory into glibc's malloc, which keeps it (freed blocks above its dynamic mmap threshold stay in
 * the heap, per arena): after spills the governed count is under the limit, but the process's resident
 * memory is not. The JVM's own {@code System.trim_native_heap} diagnostic command (JDK 17.0.9+, 21+;
 * glibc's {@code malloc_trim(0)}: every arena, free pages in the middle of the heap too) releases it.
 *
 * <p>It is run from the governor's background thread only, never on an application thread, and only
 * when it is needed: when the process's RSS has grown by {@link #threshold} bytes more than governed
 * HOST memory has since the last trim (memory freed into the C heap that the heap did not reuse).
 * While spills and restores reuse the blocks they free, RSS does not grow and nothing is trimmed (a
 * trim there would only make the next allocations fault their pages in again). The background thread
 * reads RSS every tick (10 ms; /proc/self/statm), and spills that freed {@link #threshold} bytes wake
 * it early. A trim costs about 1-2 ms on this project's machines.
 */
final class NativeHeap {
    private static final Pattern CHANGE = Pattern.compile("RSS\\+Swap: (\\d+)K->(\\d+)K");

    private final Object server;
    private final Object name;
    /** Why trimming is unavailable, or null. */
    private final String unavailable;
    final long threshold;
    final AtomicLong freedSinceTrim = new AtomicLong();
    final AtomicLong trims = new AtomicLong();
    final AtomicLong trimmedBytes = new AtomicLong();
    final AtomicLong trimMicros = new AtomicLong();

    private NativeHeap(Object server, Object name, String unavailable, long threshold) {
        this.server = server;
        this.name = name;
        this.unavailable = unavailable;
        this.threshold = threshold;
    }

    /** Trimming through the JVM's diagnostic command, or an instance that says why it cannot. */
    static NativeHeap create(long threshold) {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return new NativeHeap(null, null, "not Linux (glibc)", threshold);
        }
        try {
            javax.management.MBeanServer s = java.lang.management.ManagementFactory.getPlatformMBeanServer();
            javax.management.ObjectName n = new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand");
            for (javax.management.MBeanOperationInfo op : s.getMBeanInfo(n).getOperations()) {
                if (op.getName().equals("systemTrimNativeHeap")) {
                    return new NativeHeap(s, n, null, threshold);
                }
            }
            return new NativeHeap(null, null, "this JVM has no System.trim_native_heap (JDK 17.0.9+ or 21+ has)", threshold);
        } catch (Throwable t) {
            return new NativeHeap(null, null, "the DiagnosticCommand MBean is not available (" + t + ")", threshold);
        }
    }

    boolean available() {
        return unavailable == null;
    }

    String unavailable() {
        return unavailable;
    }

    /** Native memory was freed (a spill): true when enough was for the C heap to be checked. */
    boolean freed(long bytes) {
        return unavailable == null && freedSinceTrim.addAndGet(bytes) >= threshold;
    }

    /** Trims now (background thread); returns the bytes the process's RSS fell by, or -1 on failure. */
    long trim() {
        if (unavailable != null) {
            return -1;
        }
        freedSinceTrim.set(0);
        long t0 = System.nanoTime();
        try {
            Object out = ((javax.management.MBeanServer) server).invoke((javax.management.ObjectName) name,
                    "systemTrimNativeHeap", new Object[]{null}, new String[]{String[].class.getName()});
            long micros = (System.nanoTime() - t0) / 1000;
            trims.incrementAndGet();
            trimMicros.addAndGet(micros);
            long fell = fell(String.valueOf(out));
            if (fell > 0) {
                trimmedBytes.addAndGet(fell);
            }
            return Math.max(0, fell);
        } catch (Throwable t) {
            return -1;
        }
    }

    /** Bytes by which the command's "RSS+Swap: 99968K->99848K (-120K)" fell (0 when it rose or says nothing). */
    static long fell(String output) {
        Matcher m = CHANGE.matcher(output);
        if (!m.find()) {
            return 0;
        }
        return Math.max(0, Long.parseLong(m.group(1)) - Long.parseLong(m.group(2))) << 10;
    }
}
