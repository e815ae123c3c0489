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
 * <p>It is run from the governor's background thread (and from a spilling thread when the spills
 * freed a threshold's worth since the last check: {@code Background.checkHeapIfDue}), and only when
 * it is needed: when the process's RSS has grown by {@link #threshold} bytes more than governed HOST
 * memory and the JVM's own memory have since the last trim (memory freed into the C heap that the
 * heap did not reuse), and spills since then freed at least as much; growth that spills do not
 * explain waits for more ({@link #thresholdFor}). While spills and restores reuse the blocks they
 * free, RSS does not grow and nothing is trimmed (a trim there would only make the next allocations
 * fault their pages in again). The background thread reads RSS (/proc/self/statm) every tick (10 ms)
 * while spills free memory, else every 100 ms ({@link #tick}).
 * A trim costs 2-7 ms on this project's machines in an ND4J process and 30-370 ms in a DJL one (the
 * more arenas and free chunks glibc walks, the longer), and while it trims an arena, the threads that
 * allocate from it wait: trims for growth no spill explains are spaced by {@link #SPACING} times the
 * last trim's duration.
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

        /** The clock trims are timed and spaced by ({@link System#nanoTime}). */
        default long nanoTime() {
            return System.nanoTime();
        }
    }

    /** Why trimming is unavailable, or null. */
    private final String unavailable;
    private final Process process;
    /** The least threshold for growth that spills do not explain ({@link #thresholdFor}). */
    static final long UNEXPLAINED = 8L << 20;
    /** The most it backs off to after trims that gave back little. */
    static final long UNEXPLAINED_MAX = 32L << 20;
    /** The base threshold: excess RSS growth that makes a trim due. */
    volatile long threshold;
    /** Bytes spills freed since the last check by any thread (the governor's thread's {@link #tick}). */
    final AtomicLong freedSinceCheck = new AtomicLong();
    /**
     * Bytes spills freed since the last check by a spilling thread, or the last trim (the spiller's
     * {@link #due}). The governor thread's checks leave it: one of them can run between a spill's
     * free and the allocation that does not reuse it, see nothing yet, and had it started this
     * count again, the next spill would not check before its own free; two spills' memory then
     * sat in the heap at once (DJL's creation of 64 arrays of 4 MiB under 16m: RSS over the floor
     * +25.6 MiB where it was otherwise +21.6).
     */
    final AtomicLong freedSinceSpillCheck = new AtomicLong();
    /** Bytes spills freed since the last trim: how much of an excess spills can explain. */
    final AtomicLong spilledSinceTrim = new AtomicLong();
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
    /**
     * The threshold in force for growth that spills do not explain: {@link #UNEXPLAINED}, doubled
     * (up to {@link #UNEXPLAINED_MAX}) after each such trim that gave back under a quarter of its
     * excess, back to the least after a trim that gave back half. Read and written under {@link #checking}.
     */
    private long unexplained = UNEXPLAINED;
    /**
     * A trim for growth that no spill explains waits until at least this many times the last trim's
     * duration passed since it ended: such trims then take at most 1% of a core, and of the time an
     * application's thread can wait on its malloc arena. In the MLP loop under 8g (DJL's process: the
     * C heap has many more free chunks to walk) a trim took 120-370 ms and gave back about 1 MiB, and
     * it trimmed 3 times in a 2.5 s loop; spaced, it trims once.
     */
    static final int SPACING = 100;
    /** The most a trim for unexplained growth waits for ({@link #SPACING}): 10 minutes. */
    static final long SPACING_MAX_NANOS = 600_000_000_000L;
    /** {@link Process#nanoTime} before which growth that no spill explains is not trimmed (once a trim ran). */
    private volatile long unexplainedNotBefore;
    /** The native excess that made the last trim due (its debug event says it). */
    volatile long lastExcess;
    private long hostAtTrim;
    private long jvmAtTrim;

    NativeHeap(Process process, String unavailable, long threshold) {
        this.process = process;
        this.unavailable = unavailable;
        this.threshold = threshold;
    }

    /**
     * Trimming through the JVM's diagnostic command ({@link DiagnosticCommands}: not through the
     * platform MBean server), or an instance that says why it cannot.
     */
    static NativeHeap create(long threshold) {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return new NativeHeap(null, "not Linux (glibc)", threshold);
        }
        String command = "System.trim_native_heap";
        DiagnosticCommands.Runner commands = DiagnosticCommands.runner(command);
        if (commands == null) {
            String why = DiagnosticCommands.unavailable(command);
            return new NativeHeap(null, why.startsWith("this JVM has no") ? why + " (JDK 17.0.9+ or 21+ has)" : why,
                    threshold);
        }
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
                return commands.run(command);
            }
        }, null, threshold);
    }

    boolean available() {
        return unavailable == null;
    }

    String unavailable() {
        return unavailable;
    }

    /** Native memory was freed (a spill): counted toward {@link #due}; true once a threshold's worth was. */
    boolean freed(long bytes) {
        if (unavailable != null) {
            return false;
        }
        spilledSinceTrim.addAndGet(bytes);
        freedSinceCheck.addAndGet(bytes);
        return freedSinceSpillCheck.addAndGet(bytes) >= threshold;
    }

    /** Ticks of the governor's thread between its checks while no spill freed memory. */
    static final int QUIET_TICKS = 10;
    /** The governor thread's ticks since its last check (that thread alone reads and writes it). */
    private int quietTicks;

    /**
     * One tick of the governor's thread (10 ms): true when it checks now. Every tick while spills
     * freed memory since the last check, else every {@link #QUIET_TICKS}th (100 ms): RSS that grows
     * without spills (releases, the JVM, the frameworks' own memory) is checked a tenth as often.
     */
    boolean tick() {
        if (freedSinceCheck.get() > 0 || ++quietTicks >= QUIET_TICKS) {
            quietTicks = 0;
            return true;
        }
        return false;
    }

    /** Spills freed a threshold's worth since the last check: the next spill or restore checks ({@code Background.checkHeapIfDue}). */
    boolean due() {
        return unavailable == null && freedSinceSpillCheck.get() >= threshold;
    }

    /**
     * Trims the C heap when the process's RSS grew by the threshold in force more than governed HOST
     * use ({@code hostUsed}) and the JVM's own memory (the Java heap's touched pages, metaspace, code
     * cache) did since the last trim: memory the frameworks freed and the C heap kept, not reused. The
     * JVM's figures are read only when RSS alone says a trim may be due. Returns the bytes trimmed, 0
     * when no trim ran, -1 when it failed. Never waits: a check running elsewhere makes this one return
     * 0 at once. {@code spiller}: the check is a spilling thread's (its {@link #due} count starts
     * again) or the governor thread's (only the tick's count does).
     *
     * <p>For growth that spills explain, the threshold stays as it is after a trim that gave back
     * little: backing off there (doubling it until a trim gives back half its excess again) let ND4J's
     * spill passes grow RSS by 34 MiB under 16m, against 14-17 without. Only the threshold for growth
     * that no spill explains backs off ({@link #unexplained}), and it waits for {@link #SPACING} times
     * the last trim's duration.
     */
    long check(long hostUsed, boolean spiller) {
        if (unavailable != null || !checking.tryLock()) {
            return 0;
        }
        try {
            freedSinceCheck.set(0);
            if (spiller) {
                freedSinceSpillCheck.set(0);
            }
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
            long dueAt = thresholdFor();
            if (excess < dueAt) { // RSS alone says no: the JVM's figures are not read (8-20 us)
                return 0;
            }
            boolean explained = explained();
            if (!explained && trims.get() > 0 && process.nanoTime() - unexplainedNotBefore < 0) {
                return 0; // too soon after the last trim (SPACING); the excess stays counted
            }
            long jvm = process.jvmResident();
            long jvmGrowth = jvm - jvmAtTrim;
            long nativeExcess = excess - jvmGrowth;
            // beside memory that spills freed, the JVM's growth puts a trim off only when it is at
            // least half the excess: its figures are committed sizes (code cache and metaspace commit
            // ahead of the pages they touch), and a few hundred KiB of them beside one freed block
            // of the threshold's size kept that block in the heap until the next one joined it (DJL's
            // passes under 16m: +33 MiB over the floor on a loaded machine, against the bound of 32)
            if (nativeExcess < dueAt && !(explained && jvmGrowth * 2 < excess)) {
                // the JVM's own memory grew (the heap touched more of itself, code was compiled): its
                // growth moves the base, the native excess so far stays counted toward the next trim
                // (rebasing on RSS now forgave it: ND4J's passes under 16m then grew 21-33 MiB, not 13)
                rssAtTrim += jvm - jvmAtTrim;
                jvmAtTrim = jvm;
                return 0;
            }
            lastExcess = nativeExcess;
            long fell = trim();
            long after = process.rss();
            rebase(after < 0 ? rss : after, hostUsed, jvm);
            long gave = after < 0 ? fell : Math.max(0, rss - after);
            if (gave * 2 >= nativeExcess) {
                unexplained = UNEXPLAINED;
            } else if (!explained && gave * 4 < nativeExcess) {
                unexplained = Math.min(UNEXPLAINED_MAX, unexplained * 2);
            }
            return fell;
        } finally {
            checking.unlock();
        }
    }

    /**
     * The excess that makes a trim due. The threshold when spills freed at least that much since the
     * last trim: the C heap may keep it, and a trim can give it back. Otherwise {@link #unexplained}
     * (at least 8 MiB, backing off to 32 MiB while such trims give back under a quarter of their
     * excess): growth that no spill explains is mostly not the C heap's to give back. In the DL4J loop
     * under 400k (small parameters spilled each step), the Java heap touching new pages and ND4J's
     * own native growth made a trim due every 40-80 ms with the threshold alone; those trims gave back
     * a MiB or nothing, and the application's thread waited on its malloc arena during each.
     */
    private long thresholdFor() {
        return explained() ? threshold : Math.max(threshold, unexplained);
    }

    /** Spills freed a threshold's worth since the last trim: a trim can give that much back. */
    private boolean explained() {
        return spilledSinceTrim.get() >= threshold;
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
        freedSinceCheck.set(0);
        freedSinceSpillCheck.set(0);
        spilledSinceTrim.set(0);
        long t0 = process.nanoTime();
        try {
            String out = process.trim();
            long end = process.nanoTime();
            long micros = (end - t0) / 1000;
            unexplainedNotBefore = end + Math.min(SPACING_MAX_NANOS, SPACING * (end - t0));
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
