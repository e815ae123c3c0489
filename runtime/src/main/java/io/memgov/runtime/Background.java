package io.memgov.runtime;

import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;

/**
 * The governor's one daemon thread ({@code memgov-governor}): every 10 ms it keeps the coarse clock
 * the hot path reads, drains the size histogram and checks the C heap ({@link NativeHeap}); about once
 * a second it frees idle pooled buffers and runs the registered tasks; it runs the GCs asked for (at
 * most one each 20 ms) and logs a {@code report} every {@code memgov.report.interval}.
 */
final class Background {
    private final MemoryGovernor g;
    private volatile Thread thread;
    /** Set once {@link #stop} ran: the thread is not started (again). */
    private boolean stopped;
    /** A GC was asked for: ND4J arrays left to the GC are released only when one runs. */
    private volatile boolean gcRequested;
    private long lastGcMillis;
    /**
     * Trims the C heap when a HOST limit is set and {@code native.trim} is on; made on this thread
     * at its first tick with both (at start, or once a live edit sets them), null until then.
     */
    private volatile NativeHeap nativeHeap;
    /** Run once on this thread as it starts (JMX, JFR: off the application's start-up path). */
    private final List<Runnable> atStart = new CopyOnWriteArrayList<>();
    /** Run about once a second on this thread (the config file watch). */
    private final List<Runnable> everySecond = new CopyOnWriteArrayList<>();

    Background(MemoryGovernor g) {
        this.g = g;
    }

    void atStart(Runnable task) {
        atStart.add(task);
    }

    void everySecond(Runnable task) {
        everySecond.add(task);
    }

    /** The C heap trimmer, or null (no HOST limit, trimming off, or the thread not started yet). */
    NativeHeap nativeHeap() {
        return nativeHeap;
    }

    synchronized boolean started() {
        return thread != null;
    }

    /** Starts the thread (once); {@code reportIntervalMillis} 0: no periodic report. */
    synchronized void start(long reportIntervalMillis) {
        if (thread != null || stopped) {
            return;
        }
        Thread t = new Thread(() -> run(reportIntervalMillis), "memgov-governor");
        t.setDaemon(true);
        t.start();
        thread = t;
    }

    /** Stops the thread and waits (a second at most) for it to end. Idempotent. */
    void stop() throws InterruptedException {
        Thread t;
        synchronized (this) {
            stopped = true;
            t = thread;
        }
        if (t != null) {
            t.interrupt();
            t.join(1000);
        }
    }

    private void run(long reportIntervalMillis) {
        long nextTrim = 0;
        long interval = reportIntervalMillis;
        long nextReport = interval > 0 ? System.currentTimeMillis() + interval : Long.MAX_VALUE;
        long nextSecond = System.currentTimeMillis() + 1000;
        try {
            for (Runnable r : atStart) {
                runSafely(r);
            }
            while (!Thread.currentThread().isInterrupted()) {
                LockSupport.parkNanos(10_000_000L); // or woken by requestGc
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                long now = System.currentTimeMillis();
                g.nowMillis = (int) (now - g.startMillis());
                g.metrics().drainSizes();
                followTrimSetting();
                NativeHeap heap = nativeHeap;
                if (heap != null && heap.tick()) {
                    trimNativeHeap(false);
                }
                HostPool pool = g.hostPool();
                if (pool != null && now >= nextTrim) {
                    pool.trimIdle(g.nowMillis);
                    nextTrim = now + 1000;
                }
                if (gcRequested && now - lastGcMillis >= 20) {
                    gcRequested = false;
                    lastGcMillis = now;
                    g.stats().gcRequest();
                    if (!YoungGc.run()) {
                        System.gc();
                    }
                }
                long iv = g.config().reportIntervalMillis();
                if (iv != interval) { // changed live
                    interval = iv;
                    nextReport = iv > 0 ? now + iv : Long.MAX_VALUE;
                }
                if (now >= nextReport) {
                    g.report();
                    nextReport = now + interval;
                }
                if (now >= nextSecond) {
                    nextSecond = now + 1000;
                    for (Runnable r : everySecond) {
                        runSafely(r);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            g.error("the governor's background thread stopped", e);
        }
    }

    /** A GC is wanted: it runs at the thread's next tick. */
    void gcWanted() {
        gcRequested = true;
    }

    /** A GC is wanted soon: the thread is woken for it now, not at its next 10 ms tick. */
    void requestGc() {
        if (!gcRequested) {
            gcRequested = true;
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /**
     * When the spills since the last check freed a threshold's worth of memory, the calling thread
     * checks the C heap itself (an RSS read, and a trim when one is due). Called before a spill frees
     * its victim and after a restore allocated its memory: then RSS shows what allocations did not
     * reuse of the memory spills freed. Right after a free, the victim's bytes would look idle a
     * moment before the allocation that reuses them (trimmed there, ND4J's passes faulted them in
     * again and grew 23-30 MiB under 16m, not 13). Left to this thread alone, the check came too late
     * on a busy machine (CI: DJL grew 37 MiB under 16m).
     */
    void checkHeapIfDue() {
        NativeHeap heap = nativeHeap;
        if (heap != null && heap.due()) {
            trimNativeHeap(true);
        }
    }

    /** A spill freed {@code bytes} of native memory (counted toward the spiller's next check). */
    void nativeFreed(long bytes) {
        NativeHeap heap = nativeHeap;
        if (heap != null) {
            heap.freed(bytes);
        }
    }

    /**
     * RSS growth beyond governed HOST growth that makes a trim due: a quarter of the HOST limit,
     * between 4 and 8 MiB (RSS then stays within the limit and 16 MiB of the process's floor).
     */
    static long trimThreshold(long hostLimit) {
        return Math.max(4L << 20, Math.min(8L << 20, hostLimit / 4));
    }

    /** Trimming is on: a HOST limit and {@code native.trim} (both live). */
    private static boolean trimming(MemgovConfig config) {
        return config.hostLimit() >= 0 && config.nativeTrim();
    }

    /**
     * Each tick, on this thread: makes the trimmer once trimming is first on (its one
     * {@code native-trim available=false} line if it cannot be), and keeps its threshold that of
     * the HOST limit in force.
     */
    private void followTrimSetting() {
        MemgovConfig config = g.config();
        if (!trimming(config)) {
            return;
        }
        long threshold = trimThreshold(config.hostLimit());
        NativeHeap heap = nativeHeap;
        if (heap == null) {
            heap = NativeHeap.create(threshold);
            if (!heap.available()) {
                g.log().emit(LogLevel.INFO, "native-trim", "available", false, "reason", heap.unavailable());
            }
            nativeHeap = heap;
        } else if (heap.threshold != threshold) {
            heap.threshold = threshold;
        }
    }

    /**
     * Each tick (and a spiller, when this thread lags): the C heap's check and trim
     * ({@link NativeHeap#check}); a trim is logged at debug with what it gave back.
     */
    private void trimNativeHeap(boolean spiller) {
        NativeHeap heap = nativeHeap;
        if (heap == null || !heap.available() || !trimming(g.config())) {
            return;
        }
        long trims = heap.trims.get();
        long fell = heap.check(g.host().used(), spiller);
        if (heap.trims.get() != trims) {
            g.log().emit(LogLevel.DEBUG, "native-trim", "bytes", fell, "excess", heap.lastExcess, "on", Thread.currentThread().getName());
        }
    }

    private void runSafely(Runnable r) {
        try {
            r.run();
        } catch (Throwable e) {
            g.error("a background task failed", e);
        }
    }
}
