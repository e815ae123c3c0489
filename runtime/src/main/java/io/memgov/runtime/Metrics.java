package io.memgov.runtime;

import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.SiteMode;
import io.memgov.runtime.log.EventLog;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.SynchronizedHistogram;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What the governor observes beyond its counters: allocation sites (sampled per {@code memgov.sites}),
 * distributions (allocation sizes, spill and restore latencies) and leaks.
 *
 * <p>Sampling: about one allocation in {@link #INTERVAL} (a gap of 1 to 2×INTERVAL-1 allocation ids,
 * spread by a hash of the id, so no loop period aliases with it) is "sampled": its size goes into the
 * size histogram and a JFR {@code io.memgov.Allocation} event is emitted. With sites=sample a sampled
 * allocation also records its site, but walks are spaced by at least {@link #WALK_GAP_MS} ms and by
 * {@link #WALK_BUDGET} times the last walk's own duration (at most {@link #MAX_WALK_GAP_MS} ms). A stack
 * walk in the middle of hot code costs hundreds of microseconds (300-700 µs in a DJL training step: deep
 * stacks, cold caches, the compiled code's debug information), and it costs about as much again after
 * it, in the code it left with cold caches: with 500 times its duration between walks, walks took about
 * 1% of a DJL training loop, not the 0.2% the walks' own time said. Spaced by 2,000 times, they take
 * about 0.05% of one thread's time, and about 0.2% with what they leave behind, whatever the allocation
 * rate. Allocations of {@link #LARGE} bytes or more always record their site. With sites=all every
 * allocation is sampled and records its site. An allocation whose stack was not walked has the site
 * {@code unsampled}.
 */
public final class Metrics {
    public static final int INTERVAL = 256;
    /**
     * A stack walk costs a few microseconds (2-5 µs measured on the project's machine): about 3-6% of
     * creating and closing a 1 MiB ND4J array, under 0.5% of allocating 16 MiB.
     */
    public static final long LARGE = 16L << 20;
    /** With sites=sample, the least time between two walks of sampled allocations (LARGE ones are not held back). */
    public static final int WALK_GAP_MS = 10;
    /** With sites=sample, the time to the next walk is at least this many times the last walk's duration. */
    public static final int WALK_BUDGET = 2000;
    /** With sites=sample, the most time between two walks of sampled allocations. */
    public static final int MAX_WALK_GAP_MS = 5000;
    /** Sampled sizes that wait for {@link #drainSizes} at most (more in between: the oldest are dropped). */
    static final int PENDING = 1024;
    static final int TOP = 5;
    static final int LIVE_SITES = 20;
    /** Leak lines logged per second at most; the others are counted in the next line's {@code not.logged}. */
    static final int LEAKS_PER_SECOND = 10;

    private final Sites sites = new Sites();
    private final SiteMode mode;
    /** The next allocation id that is sampled (0 with sites=all: every one). */
    volatile long nextSample;
    /** Allocations of at least this many bytes always record their site. */
    final long large;
    /** When a sampled allocation may walk its stack next, in the governor's milliseconds (sites=sample). */
    private volatile int nextWalk = Integer.MIN_VALUE / 2;

    // 3 significant digits, auto-resizing: they start small and grow to the largest value seen
    private final Histogram sizes = new SynchronizedHistogram(3);
    /** Sampled sizes not yet in {@link #sizes}, plus one (0: an empty slot); a ring of {@link #PENDING}. */
    private final AtomicLongArray pending = new AtomicLongArray(PENDING);
    private final AtomicLong pendingNext = new AtomicLong();
    /** The next pending slot to take into {@link #sizes} (guarded by {@code sizes}). */
    private long pendingRead;
    private final Histogram spillMicros = new SynchronizedHistogram(3);
    private final Histogram restoreMicros = new SynchronizedHistogram(3);

    private final AtomicLong leaks = new AtomicLong();
    private final AtomicLong leakBytes = new AtomicLong();
    private final Map<Integer, long[]> leaksBySite = new HashMap<>();
    private long leakWindowStart;
    private int leaksInWindow;
    private long leaksNotLogged;

    /** JFR events, or null while JFR is not set up (see {@link Governor#startBackground}). */
    volatile JfrSink jfr;

    public Metrics(SiteMode mode) {
        this.mode = mode;
        this.large = mode == SiteMode.OFF ? Long.MAX_VALUE : mode == SiteMode.ALL ? 0 : LARGE;
        this.nextSample = mode == SiteMode.ALL ? 0 : ThreadLocalRandom.current().nextInt(2 * INTERVAL);
    }

    public SiteMode mode() { return mode; }
    public Sites sites() { return sites; }

    /** Milliseconds from a walk that took {@code walkNanos} to the next (sites=sample). */
    static int walkGap(long walkNanos) {
        return (int) Math.min(MAX_WALK_GAP_MS, Math.max(WALK_GAP_MS, walkNanos / 1_000_000L * WALK_BUDGET
                + walkNanos % 1_000_000L * WALK_BUDGET / 1_000_000L));
    }

    /** The hot-path test: does the allocation {@code t} need {@link #sample}? */
    boolean wants(Tracked t) {
        return t.id >= nextSample || t.bytes >= large;
    }

    /**
     * A sampled or large allocation (see the class comment); {@code now} is the governor's clock in
     * milliseconds. Never throws.
     */
    void sample(Tracked t, int now) {
        try {
            boolean regular = t.id >= nextSample;
            if (regular) {
                if (mode != SiteMode.ALL) {
                    nextSample = t.id + 1 + gap(t.id);
                }
                // into the histogram later, off this thread (see drainSizes): recording there in the
                // middle of hot code cost 5 µs a sample in a DJL training step, its code and data cold
                pending.lazySet((int) (pendingNext.getAndIncrement() & (PENDING - 1)), t.bytes + 1);
            }
            boolean walk;
            boolean spaced = mode == SiteMode.SAMPLE && t.bytes < large;
            if (spaced) {
                walk = now - nextWalk >= 0;
                if (walk) {
                    nextWalk = now + WALK_GAP_MS; // until this walk's own duration is known
                }
            } else {
                walk = mode != SiteMode.OFF;
            }
            if (walk) {
                long w0 = spaced ? System.nanoTime() : 0;
                t.site = (short) sites.capture(); // ids stay under Sites.MAX (4096)
                if (spaced) {
                    nextWalk = now + walkGap(System.nanoTime() - w0);
                }
            }
            JfrSink j = jfr;
            if (j != null) {
                j.allocation(t.id, t.bytes, Governor.FRAMEWORKS[t.framework], Tier.values()[t.tier].key(),
                        mode == SiteMode.OFF ? "" : sites.name(t.site));
            }
        } catch (Throwable e) {
            // observing must never break an allocation
        }
    }

    /**
     * Allocations from a sampled one (id {@code id}) to the next: 1 to 2×INTERVAL-1, spread by a hash
     * of the id (arithmetic only: a random generator's code is cold on this rare path too).
     */
    static int gap(long id) {
        long z = id * 0x9E3779B97F4A7C15L;
        z ^= z >>> 31;
        return 1 + (int) ((z >>> 1) % (2 * INTERVAL - 1));
    }

    /**
     * Takes the sampled sizes recorded since the last call into the size histogram (the governor's
     * thread calls it each tick, and a report before it reads the histogram).
     */
    void drainSizes() {
        synchronized (sizes) {
            long end = pendingNext.get();
            if (end - pendingRead > PENDING) {
                pendingRead = end - PENDING; // lapped: the oldest were written over
            }
            while (pendingRead < end) {
                long v = pending.getAndSet((int) (pendingRead & (PENDING - 1)), 0);
                if (v == 0) {
                    break; // its slot is taken but not yet written: the next call takes it
                }
                pendingRead++;
                try {
                    sizes.recordValue(v - 1);
                } catch (RuntimeException outOfRange) {
                    // a size the histogram cannot hold is left out, never the governor's thread
                }
            }
        }
    }

    /** Sampled sizes in the histogram, after taking in the pending ones (for tests). */
    long sampledSizes() {
        drainSizes();
        synchronized (sizes) {
            return sizes.getTotalCount();
        }
    }

    /** A committed allocation: counted under its site when it has one. */
    void committed(Tracked t) {
        if (t.site != Sites.UNSAMPLED) {
            sites.allocated(t.site, t.bytes);
        }
    }

    /** A spill (HOST to DISK, or a GPU to HOST): its latency, and a JFR event. */
    void spilled(long id, long bytes, String from, String to, long micros) {
        try {
            spillMicros.recordValue(Math.max(0, micros));
            JfrSink j = jfr;
            if (j != null) {
                j.spill(id, bytes, from, to, micros);
            }
        } catch (Throwable e) {
            // observing must never break a spill
        }
    }

    /** A restore: its latency, and a JFR event. */
    void restored(long id, long bytes, String from, String to, long micros) {
        try {
            restoreMicros.recordValue(Math.max(0, micros));
            JfrSink j = jfr;
            if (j != null) {
                j.restore(id, bytes, from, to, micros);
            }
        } catch (Throwable e) {
            // observing must never break a restore
        }
    }

    /** An allocation met a limit: a JFR event (the log's {@code limit} line is rate-limited, this is not). */
    void limitReached(String tier, long requested, long used, long limit, String action) {
        try {
            JfrSink j = jfr;
            if (j != null) {
                j.limitReached(tier, requested, used, limit, action);
            }
        } catch (Throwable e) {
            // observing must never break an allocation
        }
    }

    /**
     * A storage was released by the garbage collector without having been closed: counted, and logged
     * as a {@code leak} event at most {@link #LEAKS_PER_SECOND} times a second.
     */
    void leak(Tracked t, EventLog log) {
        leaks.incrementAndGet();
        leakBytes.addAndGet(t.bytes);
        long notLogged;
        synchronized (leaksBySite) {
            long[] v = leaksBySite.computeIfAbsent((int) t.site, k -> new long[2]);
            v[0]++;
            v[1] += t.bytes;
            long now = System.nanoTime();
            if (now - leakWindowStart >= 1_000_000_000L || leakWindowStart == 0) {
                leakWindowStart = now;
                leaksInWindow = 0;
            }
            if (leaksInWindow >= LEAKS_PER_SECOND) {
                leaksNotLogged++;
                return;
            }
            leaksInWindow++;
            notLogged = leaksNotLogged;
            leaksNotLogged = 0;
        }
        log.emit(LogLevel.INFO, "leak", "id", t.id, "bytes", t.bytes, "framework", Governor.FRAMEWORKS[t.framework],
                "site", sites.name(t.site), "not.logged", notLogged);
    }

    public long leaks() { return leaks.get(); }
    public long leakBytes() { return leakBytes.get(); }

    /** The histogram and leak fields of report and summary. */
    void putFigures(Map<String, Object> m) {
        drainSizes();
        putPercentiles(m, "alloc.size", sizes);
        putPercentiles(m, "spill.micros", spillMicros);
        putPercentiles(m, "restore.micros", restoreMicros);
        m.put("leaks", leaks.get());
        m.put("leak.bytes", leakBytes.get());
    }

    private static void putPercentiles(Map<String, Object> m, String name, Histogram h) {
        synchronized (h) {
            boolean empty = h.getTotalCount() == 0;
            // HdrHistogram keeps 3 significant digits: a value is given as the lowest of its bucket
            m.put(name + ".p50", empty ? 0L : h.lowestEquivalentValue(h.getValueAtPercentile(50)));
            m.put(name + ".p99", empty ? 0L : h.lowestEquivalentValue(h.getValueAtPercentile(99)));
            m.put(name + ".max", empty ? 0L : h.lowestEquivalentValue(h.getMaxValue()));
        }
    }

    /**
     * The site fields of report and summary: {@code top.live} (live bytes by site) and
     * {@code top.allocated} (bytes committed by site); with {@code summary}, also {@code live.sites}
     * ({@code site:tensors:bytes} for the storages still live) and {@code leak.sites}.
     */
    void putSites(Map<String, Object> m, Ledger ledger, long allocatedTotal, boolean summary) {
        if (mode == SiteMode.OFF) {
            return;
        }
        try {
            putSitesUnguarded(m, ledger, allocatedTotal, summary);
        } catch (RuntimeException e) {
            m.put("sites.error", String.valueOf(e)); // a report or summary is never lost to its site lists
        }
    }

    private void putSitesUnguarded(Map<String, Object> m, Ledger ledger, long allocatedTotal, boolean summary) {
        int n = sites.size();
        long[] liveBytes = new long[n];
        long[] liveCount = new long[n];
        ledger.forEach(t -> {
            int s = t.site;
            if (s >= 0 && s < n) {
                liveBytes[s] += t.bytes;
                liveCount[s]++;
            }
        });
        m.put("top.live", sites.top(liveBytes, TOP));
        m.put("top.allocated", sites.top(sites.allocatedBytes(allocatedTotal), TOP));
        if (summary) {
            String top = sites.top(liveBytes, LIVE_SITES);
            StringBuilder sb = new StringBuilder();
            for (String entry : top.isEmpty() ? new String[0] : top.split(";")) {
                int colon = entry.lastIndexOf(':');
                String site = entry.substring(0, colon);
                sb.append(sb.length() == 0 ? "" : ";").append(site).append(':')
                        .append(liveCount[sites.intern(site)]).append(':').append(entry.substring(colon + 1));
            }
            m.put("live.sites", sb.toString());
            long[] leaked;
            synchronized (leaksBySite) {
                leaked = new long[sites.size()];
                for (Map.Entry<Integer, long[]> e : leaksBySite.entrySet()) {
                    leaked[e.getKey()] = e.getValue()[1];
                }
            }
            m.put("leak.sites", sites.top(leaked, TOP));
        }
    }
}
