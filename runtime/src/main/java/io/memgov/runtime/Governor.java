package io.memgov.runtime;

import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.config.OnLimit;
import io.memgov.runtime.config.Values;
import io.memgov.runtime.log.EventLog;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The one memory governor of the JVM. Framework advice calls the static methods; they take and
 * return primitives and {@code Object} so that the advice, inlined into framework classes of any
 * class loader, needs nothing but this bootstrap class.
 */
public final class Governor {
    public static final int FW_DJL = 0;
    public static final int FW_ND4J = 1;
    /** ND4J workspace blocks: counted under nd4j, and on their own. */
    public static final int FW_ND4J_WORKSPACE = 2;
    /** Names in the log ({@code host.used.NAME}). */
    static final String[] FRAMEWORKS = {"djl", "nd4j", "nd4j.workspace"};
    /** The framework a sub-framework's bytes also count under, or -1. */
    private static final int[] PARENT = {-1, -1, FW_ND4J};

    /** The installed governor, or null while the agent is not governing. */
    private static volatile Governor current;

    /** Marks a view scope whose parent array is not tracked: its views count nothing. */
    private static final Object UNTRACKED = new Object();
    private static final ThreadLocal<PendingView> PENDING_VIEW = ThreadLocal.withInitial(PendingView::new);
    /** How many threads have a view announced: lets every other allocation skip the thread-local. */
    private static final AtomicLong PENDING_VIEWS = new AtomicLong();
    private static final int MAX_ADVICE_ERRORS_LOGGED = 10;

    private final MemgovConfig config;
    private final EventLog log;
    private final Budget host;
    private final Budget disk;
    /** HOST bytes per framework (index: FW_*); their sum over top-level frameworks is {@link #host}. */
    private final Budget[] hostByFramework = new Budget[FRAMEWORKS.length];
    private final AtomicReferenceArray<Budget> devices = new AtomicReferenceArray<>(64);
    private final Ledger ledger = new Ledger();
    private final AtomicLong ids = new AtomicLong(1);
    // AtomicLong, not LongAdder: uncontended (the common case) an atomic add costs half a LongAdder's
    private final AtomicLong allocations = new AtomicLong();
    private final AtomicLong releases = new AtomicLong();
    private final AtomicLong allocatedBytes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong limitHits = new AtomicLong();
    private final AtomicLong lastLimitLog = new AtomicLong();
    private final AtomicLong limitsNotLogged = new AtomicLong();
    /** Allocations waiting for releases wait on this; releases notify it only when someone waits. */
    private final Object waitLock = new Object();
    private volatile int waiters;
    private final AtomicLong adviceErrors = new AtomicLong();
    private final long startMillis = System.currentTimeMillis();
    /** Milliseconds since start, kept by the background thread: a volatile read on the hot path. */
    private volatile int nowMillis;
    private volatile Thread background;

    public Governor(MemgovConfig config, EventLog log) {
        this.config = config;
        this.log = log;
        this.host = new Budget("host", config.hostLimit());
        this.disk = new Budget("disk", config.diskLimit());
        for (int i = 0; i < FRAMEWORKS.length; i++) {
            hostByFramework[i] = new Budget("host." + FRAMEWORKS[i], Budget.NONE);
        }
    }

    // ---------------------------------------------------------------- installation

    /** Makes {@code g} the governor the advice reports to. */
    public static void install(Governor g) {
        current = g;
    }

    public static Governor current() {
        return current;
    }

    public MemgovConfig config() { return config; }
    public EventLog log() { return log; }
    public Budget host() { return host; }
    public Budget disk() { return disk; }

    /** HOST bytes of one framework (a FW_* index). */
    public Budget host(int framework) { return hostByFramework[framework]; }
    public Ledger ledger() { return ledger; }

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

    private Budget budget(int tier, int device) {
        return tier == Tier.DEVICE.ordinal() ? device(device) : host;
    }

    // ---------------------------------------------------------------- hot path (called by advice)

    /**
     * Counts a new storage of {@code bytes} on {@code tier} (a {@link Tier} ordinal; device is the
     * GPU index for DEVICE), admitting it under the tier's limit per {@code memgov.on-limit}.
     * Returns the record the advice keeps on the array, or null when nothing is governed.
     *
     * @throws MemgovOutOfMemoryError when the bytes cannot be admitted; nothing was counted
     */
    public static Object allocate(int framework, int tier, int device, long bytes) {
        Object reservation = reserve(framework, tier, device, bytes);
        return commit(reservation);
    }

    /**
     * First half of an allocation made in two steps around the framework's own allocation: admits
     * and reserves {@code bytes} (spilling, waiting or failing per {@code memgov.on-limit}). Follow it
     * with {@link #commit} once the memory exists, or {@link #cancel} if the allocation failed.
     *
     * @return the reservation, or null when nothing is governed
     * @throws MemgovOutOfMemoryError when the bytes cannot be admitted; nothing was reserved
     */
    public static Object reserve(int framework, int tier, int device, long bytes) {
        Governor g = current;
        if (g == null || bytes < 0 || framework < 0 || framework >= FRAMEWORKS.length) {
            return null;
        }
        return g.reserveTracked(framework, tier, device, bytes);
    }

    /** The reserved storage exists: it is counted from now on. Returns its record. */
    public static Object commit(Object reservation) {
        if (!(reservation instanceof Tracked)) {
            return null;
        }
        Tracked t = (Tracked) reservation;
        Governor g = current;
        if (g != null) {
            g.ledger.add(t);
            g.allocations.incrementAndGet();
            g.allocatedBytes.addAndGet(t.bytes);
        }
        return t;
    }

    /** The reserved allocation did not happen: its bytes are given back. */
    public static void cancel(Object reservation) {
        if (reservation instanceof Tracked) {
            Governor g = current;
            if (g != null) {
                g.unreserve((Tracked) reservation);
            }
        }
    }

    Tracked reserveTracked(int framework, int tier, int device, long bytes) {
        Budget budget = budget(tier, device);
        if (!budget.tryReserve(bytes)) {
            admitOverLimit(budget, tier, device, bytes);
        }
        if (tier != Tier.DEVICE.ordinal()) {
            hostByFramework[framework].forceReserve(bytes);
            if (PARENT[framework] >= 0) {
                hostByFramework[PARENT[framework]].forceReserve(bytes);
            }
        }
        Tracked t = new Tracked(ids.getAndIncrement(), bytes, framework, tier, device);
        t.lastAccess = nowMillis;
        return t;
    }

    private void unreserve(Tracked t) {
        budget(t.tier, t.device).release(t.bytes);
        if (t.tier != Tier.DEVICE.ordinal()) {
            hostByFramework[t.framework].release(t.bytes);
            if (PARENT[t.framework] >= 0) {
                hostByFramework[PARENT[t.framework]].release(t.bytes);
            }
        }
        signalReleased();
    }

    // ---------------------------------------------------------------- over a limit

    /**
     * The slow path: {@code bytes} do not fit under {@code budget}'s limit. Per on-limit: spill cold
     * tensors (when a bridge can), then wait for releases up to wait.timeout, then fail. Returns with
     * the bytes reserved, or throws.
     */
    private void admitOverLimit(Budget budget, int tier, int device, long bytes) {
        long limit = budget.limit();
        OnLimit policy = config.onLimit();
        limitHits.incrementAndGet();
        if (limit >= 0 && bytes > limit) {
            throw fail(budget, tier, bytes, policy, "the request alone is larger than the limit");
        }
        logLimit(budget, tier, bytes, policy);
        if (policy == OnLimit.SPILL) {
            long target = Math.min((long) (limit * config.spillLowWatermark()), limit - bytes);
            spill(tier, device, target);
            if (budget.tryReserve(bytes)) {
                return;
            }
        }
        if (policy == OnLimit.SPILL || policy == OnLimit.WAIT) {
            long deadline = System.nanoTime() + config.waitTimeoutMillis() * 1_000_000L;
            synchronized (waitLock) {
                waiters++;
                try {
                    for (;;) {
                        if (budget.tryReserve(bytes)) {
                            return;
                        }
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            break;
                        }
                        waitLock.wait(Math.max(1, left / 1_000_000L));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    waiters--;
                }
            }
            throw fail(budget, tier, bytes, policy, "nothing was released within memgov.wait.timeout="
                    + config.waitTimeoutMillis() + "ms");
        }
        throw fail(budget, tier, bytes, policy, null);
    }

    /** Frees {@code tier} down to {@code targetUsed} bytes by spilling; the spill bridges come later. */
    private void spill(int tier, int device, long targetUsed) {
        // no framework bridge can spill yet: spill falls through to wait, then fail
    }

    private MemgovOutOfMemoryError fail(Budget budget, int tier, long bytes, OnLimit policy, String why) {
        failures.incrementAndGet();
        String tierName = budget.name().toUpperCase(java.util.Locale.ROOT);
        String msg = "memgov: " + tierName + " limit reached: requested " + bytes + " bytes ("
                + Values.formatBytes(bytes) + "), " + tierName + " holds " + budget.used() + " bytes ("
                + Values.formatBytes(budget.used()) + ") of its limit of " + budget.limit() + " bytes ("
                + Values.formatBytes(budget.limit()) + "); on-limit=" + policy.configName()
                + (why == null ? "" : ": " + why)
                + ". Raise memgov." + Tier.values()[tier].key() + ".limit, close arrays that are no longer needed"
                + (policy == OnLimit.FAIL ? ", or set memgov.on-limit=spill or wait" : "");
        log.emit(LogLevel.ERROR, "limit", "tier", Tier.values()[tier].key(), "requested", bytes, "used", budget.used(),
                "limit", budget.limit(), "action", "fail", "message", msg);
        return new MemgovOutOfMemoryError(msg);
    }

    /** A {@code limit} event, at most one a second per tier (with how many were not logged). */
    private void logLimit(Budget budget, int tier, long bytes, OnLimit policy) {
        long now = System.nanoTime();
        long last = lastLimitLog.get();
        if (now - last < 1_000_000_000L && last != 0 || !lastLimitLog.compareAndSet(last, now)) {
            limitsNotLogged.incrementAndGet();
            return;
        }
        log.emit(LogLevel.INFO, "limit", "tier", Tier.values()[tier].key(), "requested", bytes, "used", budget.used(),
                "limit", budget.limit(), "action", policy.configName(), "not.logged", limitsNotLogged.getAndSet(0));
    }

    private void signalReleased() {
        if (waiters > 0) {
            synchronized (waitLock) {
                waitLock.notifyAll();
            }
        }
    }

    /**
     * A new array over the storage of {@code parent} (a record returned by {@link #allocate} or
     * {@link #share}); the storage stays counted until its last array is released.
     */
    public static Object share(Object parent) {
        if (!(parent instanceof Tracked)) {
            return null;
        }
        Tracked owner = ((Tracked) parent).storage;
        for (;;) {
            int r = owner.refs;
            if (r <= 0) {
                return null; // the storage is already gone: nothing left to count
            }
            if (Tracked.REFS.compareAndSet(owner, r, r + 1)) {
                break;
            }
        }
        Governor g = current;
        long id = g == null ? 0 : g.ids.getAndIncrement();
        return new Tracked(id, owner);
    }

    /** The array behind {@code record} is gone. Idempotent: a second release of one array does nothing. */
    public static void release(Object record) {
        if (!(record instanceof Tracked)) {
            return;
        }
        Tracked t = (Tracked) record;
        if (!Tracked.RELEASED.compareAndSet(t, 0, 1)) {
            return;
        }
        Tracked owner = t.storage;
        if (Tracked.REFS.decrementAndGet(owner) == 0) {
            Governor g = current;
            if (g != null) {
                g.untrack(owner);
            }
        }
    }

    void untrack(Tracked owner) {
        owner.state = Tracked.FREED;
        ledger.remove(owner);
        releases.incrementAndGet();
        unreserve(owner);
    }

    /**
     * The framework array about to be created on this thread over native {@code handle} shares the
     * storage of {@code parent} (a record, or null when the parent is not tracked: then the view counts
     * nothing). Consumed by the next {@link #takeView} on this thread.
     */
    public static void expectView(long handle, Object parent) {
        PendingView p = PENDING_VIEW.get();
        if (!p.set) {
            PENDING_VIEWS.incrementAndGet();
        }
        p.set = true;
        p.handle = handle;
        p.parent = parent == null ? UNTRACKED : parent;
    }

    /**
     * Called as each framework array is created over {@code handle}: the parent to {@link #share}
     * when a view of it was announced on this thread for this handle, else null. Any announcement is
     * consumed, so a stale one (its constructor threw) never leaks into a later array.
     */
    public static Object takeView(long handle) {
        if (PENDING_VIEWS.get() == 0) {
            return null;
        }
        PendingView p = PENDING_VIEW.get();
        if (!p.set) {
            return null;
        }
        p.set = false;
        PENDING_VIEWS.decrementAndGet();
        Object parent = p.parent;
        p.parent = null;
        return p.handle == handle ? parent : null;
    }

    /** Advice hit a Throwable: logged (the first few), never thrown into the application. */
    public static void adviceError(String where, Throwable t) {
        Governor g = current;
        if (g == null) {
            return;
        }
        long n = g.adviceErrors.incrementAndGet();
        if (n <= MAX_ADVICE_ERRORS_LOGGED) {
            g.error("advice failed in " + where + (n == MAX_ADVICE_ERRORS_LOGGED ? " (further advice errors are counted, not logged)" : ""), t);
        }
    }

    // ---------------------------------------------------------------- reporting

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

    public long allocations() { return allocations.get(); }
    public long releases() { return releases.get(); }
    public long allocatedBytes() { return allocatedBytes.get(); }
    public long failures() { return failures.get(); }
    public long adviceErrors() { return adviceErrors.get(); }

    /** The fields of {@code report} and {@code summary}, in CONTRACT order, then extras. */
    public Map<String, Object> snapshot() {
        long devUsed = 0;
        long devPeak = 0;
        Map<String, Object> perDevice = new LinkedHashMap<>();
        for (int i = 0; i < devices.length(); i++) {
            Budget b = devices.get(i);
            if (b != null) {
                devUsed += b.used();
                devPeak = Math.max(devPeak, b.peak());
                perDevice.put("device." + i + ".used", b.used());
                perDevice.put("device." + i + ".peak", b.peak());
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host.used", host.used());
        m.put("host.peak", host.peak());
        m.put("host.limit", host.limit());
        m.put("device.used", devUsed);
        m.put("device.peak", devPeak);
        m.put("device.limit", config.deviceLimit());
        m.put("disk.used", disk.used());
        m.put("disk.peak", disk.peak());
        m.put("disk.limit", disk.limit());
        m.put("allocations", allocations.get());
        m.put("releases", releases.get());
        m.put("spills", 0L);
        m.put("restores", 0L);
        m.put("spill.bytes", 0L);
        m.put("restore.bytes", 0L);
        m.put("pool.hits", 0L);
        m.put("pool.misses", 0L);
        m.put("failures", failures.get());
        m.put("limit.hits", limitHits.get());
        m.put("live", (long) ledger.size());
        for (int i = 0; i < FRAMEWORKS.length; i++) {
            m.put("host.used." + FRAMEWORKS[i], hostByFramework[i].used());
            m.put("host.peak." + FRAMEWORKS[i], hostByFramework[i].peak());
        }
        m.put("allocated.bytes", allocatedBytes.get());
        m.putAll(perDevice);
        m.put("uptime.ms", System.currentTimeMillis() - startMillis);
        return m;
    }

    /**
     * Starts the governor's one daemon thread: it keeps the coarse clock (every 10 ms) and logs a
     * {@code report} every {@code reportIntervalMillis} (0: never).
     */
    public synchronized void startBackground(long reportIntervalMillis) {
        if (background != null) {
            return;
        }
        Thread t = new Thread(() -> {
            long nextReport = reportIntervalMillis > 0 ? System.currentTimeMillis() + reportIntervalMillis : Long.MAX_VALUE;
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(10);
                    long now = System.currentTimeMillis();
                    nowMillis = (int) (now - startMillis);
                    if (now >= nextReport) {
                        report();
                        nextReport = now + reportIntervalMillis;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Throwable e) {
                error("the governor's background thread stopped", e);
            }
        }, "memgov-governor");
        t.setDaemon(true);
        t.start();
        background = t;
    }

    public void report() {
        log.emit(LogLevel.INFO, "report", snapshot());
    }

    /**
     * Logs a {@code report} now, labelled: a program (or a test) can mark a point of its run in the
     * log. Reached by name from any class loader; does nothing when no governor is installed.
     */
    public static void checkpoint(String label) {
        Governor g = current;
        if (g != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("label", label);
            m.putAll(g.snapshot());
            g.log.emit(LogLevel.INFO, "report", m);
        }
    }

    /** Logs the summary and closes the log; called once at JVM exit. */
    public void summary() {
        log.emit(LogLevel.INFO, "summary", snapshot());
        log.flush();
    }

    private static final class PendingView {
        boolean set;
        long handle;
        Object parent;
    }
}
