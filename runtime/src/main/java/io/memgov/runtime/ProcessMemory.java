package io.memgov.runtime;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;

/**
 * Where the process's resident memory is: RSS and its peak (VmRSS, VmHWM of /proc/self/status), the
 * Java heap and non-heap (committed), the JVM's direct buffers, governed HOST memory, and
 * {@code native.other}, the RSS none of those explain (other native libraries, allocator slack,
 * thread stacks, untracked framework memory). Read for each {@code report} and the {@code summary},
 * never on a hot path (a read costs tens of microseconds).
 *
 * <p>{@code native.other} is an estimate, never negative: committed heap pages not yet touched are
 * not resident, and zero-copy DJL tensors over direct buffers are counted both in
 * {@code direct.used} and in governed HOST bytes, so it can be a little low; it is never high.
 */
public final class ProcessMemory {
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
    private static final BufferPoolMXBean DIRECT = direct();

    private ProcessMemory() {
    }

    private static BufferPoolMXBean direct() {
        try {
            for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
                if (b.getName().equals("direct")) {
                    return b;
                }
            }
        } catch (Throwable ignored) {
            // no buffer pool beans: direct.used is -1
        }
        return null;
    }

    /** Resident bytes of this process now (/proc/self/statm, pages x 4 KiB: cheaper than status), or -1. */
    public static long rss() {
        try (java.io.FileInputStream in = new java.io.FileInputStream("/proc/self/statm")) {
            byte[] b = new byte[128];
            int n = in.read(b);
            int i = 0;
            while (i < n && b[i] != ' ') {
                i++; // size
            }
            long pages = 0;
            for (i++; i < n && b[i] >= '0' && b[i] <= '9'; i++) {
                pages = pages * 10 + (b[i] - '0');
            }
            return pages << 12;
        } catch (Throwable t) {
            return -1;
        }
    }

    /** True when the heap was touched at start ({@code -XX:+AlwaysPreTouch}): all of it is resident. */
    private static final boolean PRE_TOUCHED = preTouched();

    private static boolean preTouched() {
        try {
            return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()
                    .contains("-XX:+AlwaysPreTouch");
        } catch (Throwable t) {
            return false;
        }
    }

    /**
     * The JVM's own resident memory, estimated: the heap's pages touched so far (the sum of its pools'
     * peak use, at most what is committed; all of the committed heap with {@code -XX:+AlwaysPreTouch})
     * and the committed non-heap (metaspace, code cache). A few microseconds: not for every tick.
     */
    public static long jvmResident() {
        try {
            long committed = MEMORY.getHeapMemoryUsage().getCommitted();
            long touched = committed;
            if (!PRE_TOUCHED) {
                long peaks = 0;
                for (java.lang.management.MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                    if (p.getType() == java.lang.management.MemoryType.HEAP && p.getPeakUsage() != null) {
                        peaks += p.getPeakUsage().getUsed();
                    }
                }
                touched = Math.min(committed, peaks);
            }
            return touched + MEMORY.getNonHeapMemoryUsage().getCommitted();
        } catch (Throwable t) {
            return 0;
        }
    }

    /** VmRSS and VmHWM of this process in bytes ({-1, -1} where /proc/self/status cannot be read). */
    public static long[] rssAndPeak() {
        long[] out = {-1, -1};
        try {
            List<String> lines = Files.readAllLines(Paths.get("/proc/self/status"), StandardCharsets.ISO_8859_1);
            for (String l : lines) {
                if (l.startsWith("VmRSS:")) {
                    out[0] = kib(l);
                } else if (l.startsWith("VmHWM:")) {
                    out[1] = kib(l);
                }
            }
        } catch (Throwable ignored) {
            // not Linux, or /proc not mounted: -1
        }
        return out;
    }

    /** "VmRSS:\t  123456 kB" to bytes. */
    static long kib(String line) {
        long v = 0;
        boolean digits = false;
        for (int i = line.indexOf(':') + 1; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c >= '0' && c <= '9') {
                v = v * 10 + (c - '0');
                digits = true;
            } else if (digits) {
                break;
            }
        }
        return digits ? v << 10 : -1;
    }

    /** Bytes in the JVM's direct buffers (ByteBuffer.allocateDirect), or -1. */
    public static long directUsed() {
        return DIRECT == null ? -1 : DIRECT.getMemoryUsed();
    }

    /**
     * Puts {@code rss}, {@code rss.peak}, {@code heap.used}, {@code heap.committed},
     * {@code nonheap.committed}, {@code direct.used} and {@code native.other} (bytes; -1 where
     * unknown) into {@code m}, given the governed HOST bytes.
     */
    public static void put(Map<String, Object> m, long governedHost) {
        long[] rss = rssAndPeak();
        MemoryUsage heap = MEMORY.getHeapMemoryUsage();
        MemoryUsage nonHeap = MEMORY.getNonHeapMemoryUsage();
        long direct = directUsed();
        m.put(Fields.RSS, rss[0]);
        m.put(Fields.RSS_PEAK, rss[1]);
        m.put(Fields.HEAP_USED, heap.getUsed());
        m.put(Fields.HEAP_COMMITTED, heap.getCommitted());
        m.put(Fields.NONHEAP_COMMITTED, nonHeap.getCommitted());
        m.put(Fields.DIRECT_USED, direct);
        m.put(Fields.NATIVE_OTHER, nativeOther(rss[0], heap.getCommitted(), nonHeap.getCommitted(), direct, governedHost));
    }

    /** RSS that the heap, non-heap, direct buffers and governed memory do not explain; -1 if RSS is unknown. */
    static long nativeOther(long rss, long heapCommitted, long nonHeapCommitted, long direct, long governed) {
        if (rss < 0) {
            return -1;
        }
        return Math.max(0, rss - heapCommitted - nonHeapCommitted - Math.max(0, direct) - Math.max(0, governed));
    }
}
