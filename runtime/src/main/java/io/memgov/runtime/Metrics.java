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
 * <p><b>Sites, by bytes</b> (sites=sample), the way tcmalloc, jemalloc and Go's heap profiler sample: each
 * thread counts down the bytes it allocates from a gap drawn from an exponential distribution of mean N
 * ({@code memgov.sites.sample.bytes}, 512 KiB by default). An allocation that takes the count below zero
 * is sampled (its stack is walked for its site) and a new gap is drawn. So an allocation of s bytes is
 * sampled with probability p = 1 - exp(-s/N), whatever came before it, and stands for 1/p allocations and
 * s/p bytes: the site figures ({@code top.allocated}, {@code top.live}, {@code live.sites},
 * {@code leak.sites}) add up these weights and are unbiased estimates of each site's bytes, with no
 * "unsampled" remainder. Their relative standard error for a site with B bytes of allocations much smaller
 * than N is about sqrt(N/B) (a Poisson count of about B/N samples); allocations of N bytes or more are
 * nearly always sampled and add almost no error. Allocations of {@link #LARGE} bytes or more are always
 * sampled (weight 1). Unsampled allocations cost a thread-local decrement and a compare.
 *
 * <p><b>Cost bound.</b> A stack walk costs 2-5 µs in a loop of walks and hundreds of microseconds in the
 * middle of hot code (300-700 µs in a DJL training step: deep stacks, cold caches, the compiled code's debug
 * information), and about as much again in the code after it. With a fixed N a workload that allocates
 * gigabytes a second would walk thousands of times a second, so N adapts: every {@link #WINDOW} sampled
 * walks, N becomes allocation rate × mean walk time × {@link #WALK_BUDGET} over that window (the rate from
 * the bytes the sampling threads counted down), at most 4 times or a quarter of what it was, never under
 * the configured N. Walks thus take about 1/{@link #WALK_BUDGET} (0.05%) of one thread's time or less, as
 * the time-spaced walks before them did. Each sample's weight uses the N its thread's gap was drawn with, so the estimates stay unbiased
 * while N moves; the current N is the report's {@code sites.sample.bytes}.
 *
 * <p>Separately, about one allocation in {@link #INTERVAL} (a gap of 1 to 2×INTERVAL-1 allocation ids,
 * spread by a hash of the id, so no loop period aliases with it) has its size put into the size histogram
 * ({@code alloc.size.*}, a distribution of allocations by count) and a JFR {@code io.memgov.Allocation}
 * event emitted. With sites=all every allocation is sampled, records its site and stands for itself.
 */
public final class Metrics {
    public static final int INTERVAL = 256;
    /** Allocations of at least this many bytes always record their site (a walk is under 0.5% of allocating them). */
    public static final long LARGE = 16L << 20;
    /** The default mean of the byte gaps between sampled allocations ({@code memgov.sites.sample.bytes}). */
    public static final long SAMPLE_BYTES = 512L << 10;
    /** Sampled walks take at most about 1/WALK_BUDGET of the time: N grows when they would take more. */
    public static final int WALK_BUDGET = 2000;
    /** The largest mean gap N grows to. */
    static final double MAX_SAMPLE_BYTES = 0x1p40;
    /** Sampled sizes that wait for {@link #drainSizes} at most (more in between: the oldest are dropped). */
    static final int PENDING = 1024;
    static final int TOP = 5;
    static final int LIVE_SITES = 20;
    /** Leak lines logged per second at most; the others are counted in the next line's {@code not.logged}. */
    static final int LEAKS_PER_SECOND = 10;

    private final Sites sites = new Sites();
    private final SiteMode mode;
    /** The next allocation id that is sampled for the size histogram (0 with sites=all: every one). */
    volatile long nextSample;
    /** Allocations of at least this many bytes always record their site. */
    final long large;
    /** sites=sample: allocations are sampled by bytes. */
    private final boolean byBytes;
    /** The configured mean gap: N never goes under it. */
    final long minSampleBytes;
    /** The walk budget N adapts to (0: N stays at {@link #minSampleBytes}, for tests). */
    private final int walkBudget;
    /** The mean gap new gaps are drawn with (see the class comment). */
    private volatile double sampleBytes;
    /** Each thread's byte countdown. */
    private final ThreadLocal<ByteCountdown> countdowns;
    /**
     * The same countdowns, by thread id: a slot is its first thread's (its {@code owner}), and the hot path
     * takes its countdown from here in a few loads; a thread whose slot another holds uses {@link #countdowns}.
     */
    private final ByteCountdown[] byThread = new ByteCountdown[THREAD_SLOTS];
    static final int THREAD_SLOTS = 64;
    private final long seed;
    /** Countdowns made so far: each gets its own generator stream (the first thread's is the same every run). */
    private final AtomicLong streams = new AtomicLong();
    // guarded by control: the adaptation of sampleBytes, over windows of WINDOW walks
    private final Object control = new Object();
    private long windowStart = System.nanoTime();
    private long windowBytes;
    private long windowWalkNanos;
    private int windowWalks;
    private long byteSamples;
    /** Walks (sampled by bytes) per adaptation of N. */
    static final int WINDOW = 4;

    /** One thread's countdown to its next sampled allocation: bytes left, the mean they were drawn with, its generator. */
    static final class ByteCountdown {
        final Thread owner = Thread.currentThread();
        long left;
        /** The gap last drawn: {@code gap - left} is what the thread allocated since. */
        long gap;
        double mean;
        long rng;
    }

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
    private final Map<Integer, double[]> leaksBySite = new HashMap<>();
    private long leakWindowStart;
    private int leaksInWindow;
    private long leaksNotLogged;

    /** JFR events, or null while JFR is not set up (see {@link MemoryGovernor#startBackground}). */
    volatile JfrSink jfr;

    public Metrics(SiteMode mode) {
        this(mode, SAMPLE_BYTES);
    }

    public Metrics(SiteMode mode, long sampleBytes) {
        this(mode, sampleBytes, WALK_BUDGET, System.nanoTime() ^ 0x5DEECE66DL);
    }

    /** {@code walkBudget} 0: N stays at {@code sampleBytes}; {@code seed}: of every thread's gap generator. */
    Metrics(SiteMode mode, long sampleBytes, int walkBudget, long seed) {
        this.mode = mode;
        this.large = mode == SiteMode.OFF ? Long.MAX_VALUE : mode == SiteMode.ALL ? 0 : LARGE;
        this.nextSample = mode == SiteMode.ALL ? 0 : ThreadLocalRandom.current().nextInt(2 * INTERVAL);
        this.byBytes = mode == SiteMode.SAMPLE;
        this.minSampleBytes = Math.max(1, sampleBytes);
        this.sampleBytes = this.minSampleBytes;
        this.walkBudget = walkBudget;
        this.seed = seed;
        this.countdowns = ThreadLocal.withInitial(this::newCountdown);
    }

    public SiteMode mode() { return mode; }
    public Sites sites() { return sites; }

    /** The mean byte gap between sampled allocations that new gaps are drawn with (sites=sample). */
    public long sampleBytes() {
        return (long) sampleBytes;
    }

    private ByteCountdown newCountdown() {
        ByteCountdown c = new ByteCountdown();
        c.rng = seed + streams.getAndIncrement() * 0x632BE59BD9B4E019L;
        redraw(c);
        return c;
    }

    /** A new gap for {@code c}, exponentially distributed with the current mean. */
    private void redraw(ByteCountdown c) {
        double mean = sampleBytes;
        c.mean = mean;
        // splitmix64: arithmetic only, no shared generator
        long z = (c.rng += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        double u = ((z >>> 11) + 1) * 0x1.0p-53; // (0, 1]
        c.left = (long) Math.min(-Math.log(u) * mean, (double) (Long.MAX_VALUE / 2));
        c.gap = c.left;
    }

    /** The number of allocations an allocation of {@code bytes} sampled with mean gap {@code mean} stands for: 1/p. */
    static double scale(long bytes, double mean) {
        double p = -Math.expm1(-bytes / mean);
        return p > 0 ? 1 / p : 1;
    }

    /**
     * After a sampled walk that took {@code walkNanos}, ending at {@code now}, of a thread that allocated
     * {@code bytes} since its previous sample: every {@link #WINDOW} walks, N becomes what makes walks take
     * 1/walkBudget of the time at the window's allocation rate and mean walk time (at most 4 times or a
     * quarter of what it was; never under the configured N). Returns N.
     */
    double adapt(long now, long walkNanos, long bytes) {
        synchronized (control) {
            windowBytes += Math.max(0, bytes);
            if (byteSamples++ == 0 || walkBudget <= 0) {
                // the first walk of a run is not what walks cost (10-14 ms: the walker's classes and code are cold)
                return sampleBytes;
            }
            windowWalkNanos += Math.max(0, walkNanos);
            if (++windowWalks < WINDOW) {
                return sampleBytes;
            }
            double rate = windowBytes / (double) Math.max(1, now - windowStart); // bytes a nanosecond
            double target = rate * ((double) windowWalkNanos / windowWalks) * walkBudget;
            double m = Math.max(sampleBytes / 4, Math.min(sampleBytes * 4, target));
            m = Math.max(minSampleBytes, Math.min(MAX_SAMPLE_BYTES, m));
            sampleBytes = m;
            windowStart = now;
            windowBytes = 0;
            windowWalkNanos = 0;
            windowWalks = 0;
            return m;
        }
    }

    /** For tests: the mean gap from now on (each thread's next gap is drawn with it). */
    void sampleBytes(double mean) {
        sampleBytes = mean;
    }

    /** Allocations sampled by bytes so far. */
    long byteSamples() {
        synchronized (control) {
            return byteSamples;
        }
    }

    /** The calling thread's countdown. */
    private ByteCountdown countdown() {
        Thread th = Thread.currentThread();
        ByteCountdown c = byThread[(int) th.getId() & (THREAD_SLOTS - 1)];
        return c != null && c.owner == th ? c : countdownSlow(th);
    }

    private ByteCountdown countdownSlow(Thread th) {
        ByteCountdown c = countdowns.get();
        int i = (int) th.getId() & (THREAD_SLOTS - 1);
        ByteCountdown held = byThread[i];
        if (held == null || !held.owner.isAlive()) {
            byThread[i] = c; // a racy claim: whichever lands, only its owner takes it from here
        }
        return c;
    }

    /**
     * The hot-path test: does the allocation {@code t} need {@link #sample}? With sites=sample it counts
     * the bytes down on the thread's countdown: call it once per allocation, and {@link #sample} when true.
     */
    boolean wants(Tracked t) {
        return (byBytes && (countdown().left -= t.bytes) < 0) || t.id >= nextSample || t.bytes >= large;
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
            double scale = mode == SiteMode.ALL ? 1 : 0;
            ByteCountdown c = null;
            if (byBytes) {
                ByteCountdown d = countdown();
                if (d.left < 0) { // this allocation took the count below zero: sampled by bytes
                    c = d;
                    scale = scale(t.bytes, d.mean);
                }
                if (t.bytes >= large) {
                    scale = 1;
                }
            }
            if (scale > 0) {
                long w0 = c != null ? System.nanoTime() : 0;
                try {
                    t.site = (short) sites.capture(); // ids stay under Sites.MAX (4096)
                    t.sampleScale = (float) scale;
                } finally {
                    if (c != null) {
                        long w1 = System.nanoTime();
                        adapt(w1, w1 - w0, c.gap - c.left);
                        redraw(c); // with the mean as it is now
                    }
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

    /** A committed allocation: its estimated bytes (bytes times its weight) counted under its site when it has one. */
    void committed(Tracked t) {
        if (t.site != Sites.UNSAMPLED) {
            sites.allocated(t.site, Math.round(t.bytes * (double) t.sampleScale));
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
            if (t.site != Sites.UNSAMPLED) { // leak.sites: estimated bytes per site, as top.allocated
                double[] v = leaksBySite.computeIfAbsent((int) t.site, k -> new double[2]);
                v[0] += t.sampleScale;
                v[1] += t.bytes * (double) t.sampleScale;
            }
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
        putPercentiles(m, Fields.ALLOC_SIZE, sizes);
        putPercentiles(m, Fields.SPILL_MICROS, spillMicros);
        putPercentiles(m, Fields.RESTORE_MICROS, restoreMicros);
        m.put(Fields.LEAKS, leaks.get());
        m.put(Fields.LEAK_BYTES, leakBytes.get());
    }

    private static void putPercentiles(Map<String, Object> m, String name, Histogram h) {
        synchronized (h) {
            boolean empty = h.getTotalCount() == 0;
            // HdrHistogram keeps 3 significant digits: a value is given as the lowest of its bucket
            m.put(name + Fields.P50, empty ? 0L : h.lowestEquivalentValue(h.getValueAtPercentile(50)));
            m.put(name + Fields.P99, empty ? 0L : h.lowestEquivalentValue(h.getValueAtPercentile(99)));
            m.put(name + Fields.MAX, empty ? 0L : h.lowestEquivalentValue(h.getMaxValue()));
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
            m.put(Fields.SITES_ERROR, String.valueOf(e)); // a report or summary is never lost to its site lists
        }
    }

    private void putSitesUnguarded(Map<String, Object> m, Ledger ledger, long allocatedTotal, boolean summary) {
        int n = sites.size();
        // estimates: each storage with a site stands for sampleScale storages of its bytes
        double[] liveBytes = new double[n];
        double[] liveCount = new double[n];
        ledger.forEach(t -> {
            int s = t.site;
            if (s > Sites.UNSAMPLED && s < n) {
                double w = t.sampleScale;
                liveBytes[s] += t.bytes * w;
                liveCount[s] += w;
            }
        });
        long[] live = rounded(liveBytes);
        m.put(Fields.TOP_LIVE, sites.top(live, TOP));
        m.put(Fields.TOP_ALLOCATED, sites.top(sites.allocatedBytes(allocatedTotal), TOP));
        if (mode == SiteMode.SAMPLE) {
            m.put(Fields.SITES_SAMPLE_BYTES, sampleBytes());
        }
        if (summary) {
            String top = sites.top(live, LIVE_SITES);
            StringBuilder sb = new StringBuilder();
            for (String entry : top.isEmpty() ? new String[0] : top.split(";")) {
                int colon = entry.lastIndexOf(':');
                String site = entry.substring(0, colon);
                sb.append(sb.length() == 0 ? "" : ";").append(site).append(':')
                        .append(Math.max(1, Math.round(liveCount[sites.intern(site)]))).append(':')
                        .append(entry.substring(colon + 1));
            }
            m.put(Fields.LIVE_SITES, sb.toString());
            long[] leaked;
            synchronized (leaksBySite) {
                leaked = new long[sites.size()];
                for (Map.Entry<Integer, double[]> e : leaksBySite.entrySet()) {
                    leaked[e.getKey()] = Math.round(e.getValue()[1]);
                }
            }
            m.put(Fields.LEAK_SITES, sites.top(leaked, TOP));
        }
    }

    private static long[] rounded(double[] v) {
        long[] r = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = Math.round(v[i]);
        }
        return r;
    }
}
