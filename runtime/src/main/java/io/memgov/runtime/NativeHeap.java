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
    private static final Pattern CHANGE = Pattern.compile("RSS\\+Swap: (\\d+)([BKMG])->(\\d+)([BKMG])");

    /** What the policy reads and does: the process's RSS, the JVM's own resident memory, the trim itself. */
    interface Process {
        /** Resident bytes now, or -1 where unknown. */
        long rss();

        /** The JVM's own resident estimate ({@link ProcessMemory#jvmResident}). */
        long jvmResident();

        /** Trims the C heap; returns the output of the JVM's command (it says how much RSS fell). */
        String trim() throws Exception;
    }

    /** Why trimming is unavailable, or null. */
    private final String unavailable;
    private final Process process;
    /** The base threshold: excess RSS growth that makes a trim due. */
    final long threshold;
    final AtomicLong freedSinceTrim = new AtomicLong();
    final AtomicLong trims = new AtomicLong();
    final AtomicLong trimmedBytes = new AtomicLong();
    final AtomicLong trimMicros = new AtomicLong();
    /** The background thread's tick and a spiller's check never run at once. */
    private final java.util.concurrent.locks.ReentrantLock checking = new java.util.concurrent.locks.ReentrantLock();
    /**
     * RSS, governed HOST bytes and the JVM's own resident estimate just after the last trim (or the
     * first check); -1: no check yet. Read and written under {@link #checking}.
     */
    private long rssAtTrim = -1;
    private long hostAtTrim;
    private long jvmAtTrim;

    NativeHeap(Process process, String unavailable, long threshold) {
        this.process = process;
        this.unavailable = unavailable;
        this.threshold = threshold;
    }

    /**
     * Trimming through the JVM's diagnostic command, or an instance that says why it cannot. The
     * command is run through HotSpot's {@code DiagnosticCommandImpl} directly (its package opened to
     * memgov by the agent: {@code Installer.openDiagnosticCommands}), not through the platform MBean
     * server: creating that server costs about 100 ms of CPU and loads the JMX classes (a DL4J loop
     * trimming under {@code host.limit=400k} ran 3.5% slower for it), and memgov never creates it.
     */
    static NativeHeap create(long threshold) {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return new NativeHeap(null, "not Linux (glibc)", threshold);
        }
        String pkg = "com.sun.management.internal";
        java.util.Optional<Module> mgmt = ModuleLayer.boot().findModule("jdk.management");
        if (mgmt.isEmpty() || !mgmt.get().isOpen(pkg, NativeHeap.class.getModule())) {
            return new NativeHeap(null, "jdk.management's " + pkg + " is not open to memgov (the agent opens it;"
                    + " or add --add-opens jdk.management/" + pkg + "=ALL-UNNAMED)", threshold);
        }
        try {
            // its static initializer loads libmanagement_ext, where the command's native method is
            Class.forName(pkg + ".PlatformMBeanProviderImpl", true, null);
            Class<?> impl = Class.forName(pkg + ".DiagnosticCommandImpl", true, null);
            java.lang.reflect.Method get = impl.getDeclaredMethod("getDiagnosticCommandMBean");
            get.setAccessible(true);
            Object commands = get.invoke(null);
            java.lang.reflect.Method list = impl.getDeclaredMethod("getDiagnosticCommands");
            list.setAccessible(true);
            if (!java.util.Arrays.asList((String[]) list.invoke(commands)).contains("System.trim_native_heap")) {
                return new NativeHeap(null, "this JVM has no System.trim_native_heap (JDK 17.0.9+ or 21+ has)", threshold);
            }
            java.lang.reflect.Method execute = impl.getDeclaredMethod("executeDiagnosticCommand", String.class);
            execute.setAccessible(true);
            return new NativeHeap(new Process() {
                @Override
                public long rss() {
                    return ProcessMemory.rss();
                }

                @Override
                public long jvmResident() {
                    return ProcessMemory.jvmResident();
                }

                @Override
                public String trim() throws Exception {
                    return String.valueOf(execute.invoke(commands, "System.trim_native_heap"));
                }
            }, null, threshold);
        } catch (Throwable t) {
            return new NativeHeap(null, "the JVM's diagnostic commands cannot be called (" + t + ")", threshold);
        }
    }

    boolean available() {
        return unavailable == null;
    }

    String unavailable() {
        return unavailable;
    }

    /** Native memory was freed (a spill): counted toward {@link #due}; true once a threshold's worth was. */
    boolean freed(long bytes) {
        return unavailable == null && freedSinceTrim.addAndGet(bytes) >= threshold;
    }

    /** Spills freed a threshold's worth since the last check: the next spill or restore checks ({@code Background.checkHeapIfDue}). */
    boolean due() {
        return unavailable == null && freedSinceTrim.get() >= threshold;
    }

    /**
     * Trims the C heap when the process's RSS grew by the threshold in force more than governed HOST
     * use ({@code hostUsed}) and the JVM's own memory (the Java heap's touched pages, metaspace, code
     * cache) did since the last trim: memory the frameworks freed and the C heap kept, not reused. The
     * JVM's figures are read only when RSS alone says a trim may be due. Returns the bytes trimmed, 0
     * when no trim ran, -1 when it failed. Never waits: a check running elsewhere makes this one return
     * 0 at once.
     *
     * <p>The threshold stays as it is after a trim that gave back little: backing off there (doubling
     * it until a trim gives back half its excess again) let ND4J's spill passes grow RSS by 34 MiB
     * under 16m, against 14-17 without, and saved the DL4J loop nothing measurable.
     */
    long check(long hostUsed) {
        if (unavailable != null || !checking.tryLock()) {
            return 0;
        }
        try {
            freedSinceTrim.set(0);
            long rss = process.rss();
            if (rss < 0) {
                return 0;
            }
            if (rssAtTrim < 0) {
                rebase(rss, hostUsed, process.jvmResident());
                return 0;
            }
            long excess = (rss - rssAtTrim) - (hostUsed - hostAtTrim);
            if (excess < 0) { // RSS fell more than governed memory did (the heap gave some back itself)
                rebase(rss, hostUsed, jvmAtTrim);
                return 0;
            }
            if (excess < threshold) {
                return 0;
            }
            long jvm = process.jvmResident();
            long nativeExcess = excess - (jvm - jvmAtTrim);
            if (nativeExcess < threshold) {
                // the JVM's own memory grew (the heap touched more of itself, code was compiled): its
                // growth moves the base, the native excess so far stays counted toward the next trim
                // (rebasing on RSS now forgave it: ND4J's passes under 16m then grew 21-33 MiB, not 13)
                rssAtTrim += jvm - jvmAtTrim;
                jvmAtTrim = jvm;
                return 0;
            }
            long fell = trim();
            long after = process.rss();
            rebase(after < 0 ? rss : after, hostUsed, jvm);
            return fell;
        } finally {
            checking.unlock();
        }
    }

    private void rebase(long rss, long hostUsed, long jvm) {
        rssAtTrim = rss;
        hostAtTrim = hostUsed;
        jvmAtTrim = jvm;
    }

    /** Trims now; returns the bytes the process's RSS fell by, or -1 on failure. */
    long trim() {
        if (unavailable != null) {
            return -1;
        }
        freedSinceTrim.set(0);
        long t0 = System.nanoTime();
        try {
            String out = process.trim();
            long micros = (System.nanoTime() - t0) / 1000;
            trims.incrementAndGet();
            trimMicros.addAndGet(micros);
            long fell = fell(out);
            if (fell > 0) {
                trimmedBytes.addAndGet(fell);
            }
            return Math.max(0, fell);
        } catch (Throwable t) {
            return -1;
        }
    }

    /**
     * Bytes by which the command's "RSS+Swap: 99968K->99848K (-120K)" fell (0 when it rose or says
     * nothing). HotSpot writes each size in its "proper" unit (B, K, M or G: from 100 of a unit up, that
     * unit), so a 460 MiB process says "460M->455M".
     */
    static long fell(String output) {
        Matcher m = CHANGE.matcher(output);
        if (!m.find()) {
            return 0;
        }
        return Math.max(0, bytes(m.group(1), m.group(2)) - bytes(m.group(3), m.group(4)));
    }

    private static long bytes(String digits, String unit) {
        int shift = "BKMG".indexOf(unit) * 10;
        return Long.parseLong(digits) << shift;
    }
}
