package io.memgov.runtime;

import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.config.OnLimit;
import io.memgov.runtime.log.EventLog;
import io.memgov.runtime.pool.BufferPool;
import io.memgov.runtime.pool.DirectBuffers;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillException;
import io.memgov.runtime.spill.SpillFile;
import io.memgov.runtime.spill.SpillStore;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One memory governor: the budgets of the tiers, the live storages, and the parts that act on them
 * ({@link Admission} over a limit, {@link Spiller} and {@link Restorer} between tiers, {@link HostPool}
 * for pooled buffers, {@link Background} for the clock, GCs, trims and reports). The framework
 * helpers reach it through the static facade {@link Governor}, which holds the installed one; the
 * agent and tests hold it directly. {@link #close} ends it: its threads stop, its spill files go, and
 * the facade answers as ungoverned.
 */
public final class MemoryGovernor implements AutoCloseable {
    /** Replaced whole by a live change ({@link #change}). */
    private volatile MemgovConfig config;
    private final EventLog log;
    private final Budget host;
    private final Budget disk;
    /**
     * HOST bytes per framework (index: FW_*), each a child of its parent framework's budget
     * ({@link Governor#FRAMEWORK_PARENTS}); their sum over top-level frameworks is {@link #host} less pooled bytes.
     */
    private final Budget[] hostByFramework = new Budget[Governor.FRAMEWORKS.length];
    private final AtomicReferenceArray<Budget> devices = new AtomicReferenceArray<>(64);
    /**
     * Live storages that a spill or a report walks: every storage when this governor can spill (it
     * looks for cold ones), else only the storages with a recorded site (the report's live sites).
     */
    private final Ledger ledger = new Ledger();
    /** True when every storage goes in the {@link #ledger}: the configuration at start can spill. */
    private final boolean indexAll;
    /** Sites, histograms, leaks (see {@link Metrics}). */
    private final Metrics metrics;
    private final AtomicLong ids = new AtomicLong(1);
    /** Allocations, allocated bytes and releases, striped by thread. */
    private final Counts counts = new Counts();
    private final Stats stats = new Stats();
    private final SpillStore store;
    private final SpillBridge[] spillBridges = new SpillBridge[Governor.FRAMEWORKS.length];
    private final Admission admission;
    private final Spiller spiller;
    private final Restorer restorer;
    /** Reuse of released buffers (memgov.pool.*), or null when pooling is off. */
    private final HostPool pool;
    /** Restores ahead of use (memgov.prefetch=auto with spilling), or null. */
    private final Prefetcher prefetcher;
    private final Background background;
    private final long startMillis = System.currentTimeMillis();
    /** Milliseconds since start, kept by the background thread: a volatile read on the hot path. */
    volatile int nowMillis;
    private volatile JvmIdentity identity;
    /** Set by {@link #summary()}: the summary is the run's last figures, so no report follows it. */
    private volatile boolean summarized;
    private final AtomicBoolean closed = new AtomicBoolean();

    public MemoryGovernor(MemgovConfig config, EventLog log) {
        this.config = config;
        this.log = log;
        this.host = new Budget("host", config.hostLimit());
        this.disk = new Budget("disk", config.diskLimit());
        for (int i = 0; i < hostByFramework.length; i++) {
            int parent = Governor.FRAMEWORK_PARENTS[i];
            hostByFramework[i] = new Budget("host." + Governor.FRAMEWORKS[i], Budget.NONE,
                    parent < 0 ? null : hostByFramework[parent]);
        }
        this.store = new SpillStore(java.nio.file.Paths.get(config.diskDir()), disk);
        this.admission = new Admission(this);
        if (config.poolEnabled() && config.poolMax() > 0) {
            BufferPool buffers = new BufferPool(config.poolMax());
            buffers.register(DirectBuffers.FREER); // POOL_DIRECT
            pool = new HostPool(buffers, host, admission);
        } else {
            pool = null;
        }
        this.metrics = new Metrics(config.sites(), config.sitesSampleBytes());
        this.indexAll = spills(config);
        this.spiller = new Spiller(this);
        this.restorer = new Restorer(this);
        this.background = new Background(this);
        this.prefetcher = config.hostLimit() >= 0 && config.onLimit() == OnLimit.SPILL && config.prefetch()
                ? new Prefetcher(this, !config.prefetchAlways()) : null;
    }

    /** True when {@code config} can spill: a HOST or DEVICE limit, and {@code on-limit=spill}. */
    private static boolean spills(MemgovConfig config) {
        return (config.hostLimit() >= 0 || config.deviceLimit() >= 0) && config.onLimit() == OnLimit.SPILL;
    }

    public MemgovConfig config() { return config; }
    public EventLog log() { return log; }
    public Budget host() { return host; }
    public Budget disk() { return disk; }
    /** HOST bytes of one framework (a FW_* index). */
    public Budget host(int framework) { return hostByFramework[framework]; }
    public Ledger ledger() { return ledger; }
    public Metrics metrics() { return metrics; }
    public SpillStore spillStore() { return store; }
    /** The buffer pool, or null when pooling is off. */
    public BufferPool pool() { return pool == null ? null : pool.buffers(); }

    Stats stats() { return stats; }
    Admission admission() { return admission; }
    Spiller spiller() { return spiller; }
    Restorer restorer() { return restorer; }
    HostPool hostPool() { return pool; }
    Background background() { return background; }
    Prefetcher prefetcher() { return prefetcher; }
    SpillBridge[] spillBridges() { return spillBridges; }
    Counts counts() { return counts; }
    long startMillis() { return startMillis; }
    AtomicReferenceArray<Budget> devices() { return devices; }

    /** The budget of GPU {@code device}, created on first use. */
    public Budget device(int device) {
        int d = Math.max(0, Math.min(device, devices.length() - 1));
        Budget b = devices.get(d);
        if (b == null) {
            devices.compareAndSet(d, null, new Budget("device." + d, config.deviceLimit()));
            b = devices.get(d);
        }
        return b;
    }

    /** True once GPU {@code device} has a budget (something was allocated on it). */
    public boolean hasDevice(int device) {
        return device >= 0 && device < devices.length() && devices.get(device) != null;
    }

    Budget budget(int tier, int device) {
        return tier == Tier.DEVICE.ordinal() ? device(device) : host;
    }

    /** True when this governor spills over a limit: a HOST or DEVICE limit is set and on-limit is spill. */
    boolean spillMode() {
        return (host.limit() >= 0 || config.deviceLimit() >= 0) && config.onLimit() == OnLimit.SPILL;
    }

    // ---------------------------------------------------------------- hot path (see the facade's Governor for each)

    /** {@link #reserve} and {@link #commit} in one; null for a request nothing governs. */
    Tracked allocate(int framework, int tier, int device, long bytes) {
        Tracked t = reserve(framework, tier, device, bytes);
        if (t != null) {
            commit(t);
        }
        return t;
    }

    /** Admits and reserves {@code bytes}; null for a request nothing governs (a bad framework or size). */
    Tracked reserve(int framework, int tier, int device, long bytes) {
        if (bytes < 0 || framework < 0 || framework >= hostByFramework.length) {
            return null;
        }
        Budget budget = budget(tier, device);
        if (!budget.tryReserve(bytes)) {
            admission.admit(budget, tier, device, bytes);
        }
        if (tier != Tier.DEVICE.ordinal()) {
            hostByFramework[framework].forceReserve(bytes);
        }
        Tracked t = new Tracked(ids.getAndIncrement(), bytes, framework, tier, device);
        t.lastAccess = nowMillis;
        if (metrics.wants(t)) {
            metrics.sample(t, t.lastAccess);
        }
        return t;
    }

    void commit(Tracked t) {
        counts.allocated(t.bytes);
        if (t.site != Sites.UNSAMPLED) {
            metrics.committed(t);
        }
        if (indexed(t)) {
            ledger.add(t);
        }
    }

    /** The reserved allocation did not happen: its bytes are given back. */
    void cancel(Tracked t) {
        unreserve(t);
    }

    /** True when {@code owner} went into the ledger at its commit (immutable once it was published). */
    private boolean indexed(Tracked owner) {
        return indexAll || owner.site != Sites.UNSAMPLED;
    }

    private void unreserve(Tracked t) {
        budget(t.tier, t.device).release(t.bytes);
        if (t.tier != Tier.DEVICE.ordinal()) {
            hostByFramework[t.framework].release(t.bytes);
        }
        admission.signalReleased();
    }

    /** Gives back HOST bytes held for {@code t} (its own, or an offloaded DEVICE storage's). */
    void releaseHost(Tracked t) {
        host.release(t.bytes);
        hostByFramework[t.framework].release(t.bytes);
    }

    /** An id for a new record (a view). */
    long nextId() {
        return ids.getAndIncrement();
    }

    /** The last array over storage {@code owner} was released. */
    void released(Tracked owner) {
        if (indexed(owner)) {
            untrack(owner);
        } else {
            untrackUnindexed(owner);
        }
    }

    /**
     * The last array over a storage that is in no ledger went: no spill can find it, so it is
     * resident and nothing races this (the hot path of a governor that does not spill).
     */
    private void untrackUnindexed(Tracked owner) {
        Tracked.STATE.lazySet(owner, Tracked.FREED);
        PoolLease lease = owner.pooled;
        if (lease != null) {
            owner.pooled = null;
            pool.giveBack(lease, nowMillis);
        }
        counts.released();
        unreserve(owner);
    }

    private void untrack(Tracked owner) {
        int st;
        for (;;) {
            st = owner.state;
            if (st == Tracked.SPILLING || st == Tracked.RESTORING) {
                Thread.onSpinWait(); // a spill or restore of this storage is finishing
                Thread.yield();
            } else if (Tracked.STATE.compareAndSet(owner, st, Tracked.FREED)) {
                break; // from here no spill can start on it (spills begin with RESIDENT -> SPILLING)
            }
        }
        owner.tensor = null;
        ledger.remove(owner);
        counts.released();
        PoolLease lease = owner.pooled;
        if (lease != null) {
            owner.pooled = null;
            pool.giveBack(lease, nowMillis);
        }
        SpillFile file = owner.spillFile; // while SPILLED its data; while RESIDENT a clean copy (or null)
        if (file != null) {
            owner.spillFile = null;
            store.delete(file);
            if (prefetcher != null) {
                prefetcher.forget(owner);
            }
        }
        if (st == Tracked.SPILLED) {
            admission.signalReleased();
        } else if (st == Tracked.OFFLOADED) {
            releaseHost(owner); // its bytes are in host memory, not on its device
            admission.signalReleased();
        } else {
            unreserve(owner);
        }
    }

    /**
     * Storage {@code s} was used: it is the last to be spilled. A storage restored in this clock tick
     * stays on probation ({@link Governor#PROBATION_MILLIS}): the use that brought it back does not count.
     */
    void touch(Tracked s) {
        int now = nowMillis;
        int last = s.lastAccess;
        if (last != now - Governor.PROBATION_MILLIS) {
            if (last == Governor.PREFETCHED) {
                restorer.prefetchHit(s, now);
            } else {
                s.lastAccess = now;
            }
        }
    }

    /** The array behind {@code t} was collected without close(): a {@code leak} event (rate-limited). */
    void leaked(Tracked t) {
        if (!t.isReleased()) {
            metrics.leak(t.storage, log);
        }
    }

    void registerSpillBridge(int framework, SpillBridge bridge) {
        if (framework >= 0 && framework < spillBridges.length) {
            spillBridges[framework] = bridge;
        }
    }

    // ---------------------------------------------------------------- spill, restore, prefetch

    boolean beginRestore(Tracked t) { return restorer.begin(t); }
    void readSpill(Tracked t, java.nio.ByteBuffer target) throws SpillException { restorer.read(t, target); }
    void endRestore(Tracked t, boolean ok) { restorer.end(t, ok); }

    /** The prefetch thread restores {@code t} ahead of use (see {@link Restorer#prefetch}). */
    boolean prefetch(Tracked t) {
        return restorer.prefetch(t);
    }

    /** Stops the prefetch thread (tests; at exit it is a daemon). */
    void stopPrefetcher() {
        if (prefetcher != null) {
            prefetcher.stop();
        }
    }

    /** Deletes every spill file (at exit). */
    public void closeSpills() {
        store.close();
    }

    // ---------------------------------------------------------------- buffer pool (null-safe when pooling is off)

    Object poolTake(int kind, long classSize) {
        return pool == null ? null : pool.take(kind, classSize);
    }

    boolean poolAttach(Tracked t, int kind, Object entry, long classSize) {
        if (pool == null || entry == null || t.storage != t || t.pooled != null || t.refs <= 0 || t.state == Tracked.FREED) {
            return false;
        }
        t.pooled = new PoolLease(kind, entry, classSize);
        return true;
    }

    void poolRelease(Tracked storage) {
        PoolLease lease = storage.pooled;
        if (pool != null && lease != null) {
            storage.pooled = null;
            pool.giveBack(lease, nowMillis);
        }
    }

    void poolGive(int kind, Object entry, long classSize) {
        if (pool != null && entry != null) {
            pool.giveBack(new PoolLease(kind, entry, classSize), nowMillis);
        }
    }

    /** Frees idle pooled entries worth at least {@code bytes} (all if fewer); returns the bytes freed. */
    long trimPool(long bytes) {
        return pool == null ? 0 : pool.trim(bytes);
    }

    void trimIdlePool() {
        if (pool != null) {
            pool.trimIdle(nowMillis);
        }
    }

    // ---------------------------------------------------------------- errors and counts

    public void error(String message, Throwable t) {
        if (t == null) {
            log.emit(LogLevel.ERROR, "error", "message", message);
        } else {
            StackTraceElement[] st = t.getStackTrace();
            log.emit(LogLevel.ERROR, "error", "message", message, "exception", String.valueOf(t),
                    "at", st.length > 0 ? st[0].toString() : "");
        }
    }

    public void instrumented(String framework, String className) {
        log.emit(LogLevel.INFO, "instrumented", "framework", framework, "class", className);
    }

    /** Advice hit a Throwable: logged (the first few), never thrown into the application. */
    void adviceError(String where, Throwable t) {
        long n = stats.adviceError();
        if (n <= Governor.MAX_ADVICE_ERRORS_LOGGED) {
            error("advice failed in " + where + (n == Governor.MAX_ADVICE_ERRORS_LOGGED
                    ? " (further advice errors are counted, not logged)" : ""), t);
        }
    }

    public long allocations() { return counts.allocations(); }
    public long releases() { return counts.releases(); }
    public long allocatedBytes() { return counts.allocatedBytes(); }

    /** Storages counted now: allocations less releases (exact once the threads that allocate are quiet). */
    public long live() {
        long releases = counts.releases(); // first: a release is never counted before its allocation
        return live(counts.allocations(), releases);
    }

    /** Live storages from counts read releases first (a thread that allocates meanwhile never makes it negative). */
    static long live(long allocations, long releases) {
        return Math.max(0, allocations - releases);
    }

    public long failures() { return stats.failures(); }
    public long adviceErrors() { return stats.adviceErrors(); }
    public long spills() { return stats.spills(); }
    public long restores() { return stats.restores(); }
    public long spillBytes() { return stats.spillBytes(); }
    public long restoreBytes() { return stats.restoreBytes(); }

    // ---------------------------------------------------------------- figures and reports

    /** The fields of {@code report} and {@code summary}, in CONTRACT order, then extras. */
    public Map<String, Object> snapshot() {
        return snapshot(false);
    }

    /** {@link #snapshot()}; {@code summary}: with the summary's extra fields ({@code live.sites}, {@code leak.sites}). */
    public Map<String, Object> snapshot(boolean summary) {
        Map<String, Object> m = figures();
        metrics.putSites(m, ledger, counts.allocatedBytes(), summary);
        return m;
    }

    /** The counters and distributions of {@link #snapshot()}, without the site lists (no walk over the live set). */
    public Map<String, Object> figures() {
        return Figures.of(this);
    }

    /** Who this JVM is: a Spark executor's or driver's {@code report} and {@code summary} name it. */
    public void identity(JvmIdentity identity) {
        this.identity = identity;
    }

    /** The snapshot with the JVM's Spark identity first (nothing added for other JVMs). */
    private Map<String, Object> identified(Map<String, Object> snapshot) {
        JvmIdentity id = identity;
        if (id == null || !id.isSpark()) {
            return snapshot;
        }
        Map<String, Object> m = new LinkedHashMap<>(id.reportFields());
        m.putAll(snapshot);
        return m;
    }

    public void report() {
        if (summarized) {
            return;
        }
        log.emit(LogLevel.INFO, "report", identified(snapshot()));
    }

    /** A {@code report} now, labelled (see {@link Governor#checkpoint}). */
    void checkpoint(String label) {
        if (!summarized) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put(Fields.LABEL, label);
            m.putAll(identified(snapshot()));
            log.emit(LogLevel.INFO, "report", m);
        }
    }

    /** Logs the summary and flushes the log; called once at JVM exit. */
    public void summary() {
        summarized = true; // the background thread's periodic report must not come after it (report splits runs)
        log.emit(LogLevel.INFO, "summary", identified(snapshot(true)));
        log.flush();
    }

    // ---------------------------------------------------------------- background, live changes, lifecycle

    /**
     * Starts the governor's daemon thread ({@link Background}: the coarse clock, GCs, trims, a
     * {@code report} every {@code reportIntervalMillis}, 0: never) and the prefetch thread. Once only,
     * and never after {@link #close}.
     */
    public synchronized void startBackground(long reportIntervalMillis) {
        if (closed.get() || background.started()) {
            return;
        }
        if (prefetcher != null) {
            prefetcher.start();
        }
        background.start(reportIntervalMillis);
    }

    /** {@code task} runs once on the background thread as it starts; register before {@link #startBackground}. */
    public void atBackgroundStart(Runnable task) {
        background.atStart(task);
    }

    /** {@code task} runs about once a second on the background thread, the first time a second after it starts. */
    public void everySecond(Runnable task) {
        background.everySecond(task);
    }

    /** Where JFR events go from now on (null: none). */
    public void jfr(JfrSink sink) {
        metrics.jfr = sink;
    }

    /**
     * Applies a live change of {@code key} (one of {@link MemgovConfig#LIVE_KEYS}): {@code next} is the
     * configuration with the new value. Limits go to the budgets at once (an allocation over a lowered
     * limit spills, waits or fails as at start); the other keys are read from the configuration as they are
     * used. Logs {@code config-change} with {@code key}, {@code old}, {@code new} and {@code source}.
     */
    public synchronized void change(String key, MemgovConfig next, String source) {
        String old = config.rawValue(key);
        LogLevel levelBefore = config.logLevel();
        config = next;
        host.setLimit(next.hostLimit());
        disk.setLimit(next.diskLimit());
        for (int i = 0; i < devices.length(); i++) {
            Budget b = devices.get(i);
            if (b != null) {
                b.setLimit(next.deviceLimit());
            }
        }
        // the change itself is logged at the more verbose of the old and new log levels
        log.setThreshold(LogLevel.values()[Math.min(levelBefore.ordinal(), next.logLevel().ordinal())]);
        log.emit(LogLevel.INFO, "config-change", "key", key, "old", old, "new", next.rawValue(key), "source", source);
        log.setThreshold(next.logLevel());
        admission.signalReleased(); // waiters re-check against a raised limit
    }

    /** Resets every tier's peak to its current use. */
    public void resetPeaks() {
        host.resetPeak();
        disk.resetPeak();
        for (int i = 0; i < devices.length(); i++) {
            Budget b = devices.get(i);
            if (b != null) {
                b.resetPeak();
            }
        }
        for (Budget b : hostByFramework) {
            b.resetPeak();
        }
    }

    /** True once {@link #close} ran. */
    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Ends this governor: the facade stops answering to it (it answers as ungoverned, when this was
     * the installed one), the background and prefetch threads stop, and every spill file is deleted.
     * Idempotent. The log stays open (its owner, the agent, closes it).
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Governor.uninstall(this);
        stopPrefetcher();
        try {
            background.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
    }
}
