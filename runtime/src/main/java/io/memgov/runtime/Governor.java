package io.memgov.runtime;

import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.config.OnLimit;
import io.memgov.runtime.config.Values;
import io.memgov.runtime.log.EventLog;
import io.memgov.runtime.pool.BufferPool;
import io.memgov.runtime.pool.DirectBuffers;
import io.memgov.runtime.spill.DiskFullException;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillException;
import io.memgov.runtime.spill.SpillFile;
import io.memgov.runtime.spill.SpillStore;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The one memory governor of the JVM. The framework helpers (defined by the agent inside each
 * framework's class loader) call the static methods; they take and return primitives and
 * {@code Object}, so the helpers need nothing but these bootstrap classes.
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

    /** Marks an announced view whose parent array is not tracked: it counts nothing. */
    private static final Object UNTRACKED = new Object();
    private static final ThreadLocal<PendingView> PENDING_VIEW = ThreadLocal.withInitial(PendingView::new);
    /** How many threads have a view announced: lets every other allocation skip the thread-local. */
    private static final AtomicLong PENDING_VIEWS = new AtomicLong();
    private static final int MAX_ADVICE_ERRORS_LOGGED = 10;

    /** Replaced whole by a live change ({@link #change}). */
    private volatile MemgovConfig config;
    private final EventLog log;
    private final Budget host;
    private final Budget disk;
    /** HOST bytes per framework (index: FW_*); their sum over top-level frameworks is {@link #host}. */
    private final Budget[] hostByFramework = new Budget[FRAMEWORKS.length];
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
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong limitHits = new AtomicLong();
    private final AtomicLong spills = new AtomicLong();
    private final AtomicLong restores = new AtomicLong();
    private final AtomicLong spillBytes = new AtomicLong();
    private final AtomicLong spillMicros = new AtomicLong();
    /** Spills that wrote nothing: the storage was unchanged since its restore and its file was kept. */
    private final AtomicLong cleanSpills = new AtomicLong();
    private final AtomicLong cleanSpillBytes = new AtomicLong();
    private final AtomicLong cleanSpillMicros = new AtomicLong();
    private final AtomicLong offloads = new AtomicLong();
    private final AtomicLong offloadBytes = new AtomicLong();
    private final AtomicLong restoreMicros = new AtomicLong();
    private final AtomicLong diskFailures = new AtomicLong();
    private final AtomicLong restoreBytes = new AtomicLong();
    private final SpillStore store;
    private final SpillBridge[] spillBridges = new SpillBridge[FRAMEWORKS.length];
    /**
     * {@code limit} events: when each was last logged and how many were not logged since, per tier
     * (index {@code 2 * tier}) and, for refusals ({@code action=fail}), on their own ({@code 2 * tier + 1}).
     */
    private final AtomicLong[] lastLimitLog = newCounters(2 * Tier.values().length);
    private final AtomicLong[] limitsNotLogged = newCounters(2 * Tier.values().length);
    /** Spills refused for want of disk (DISK at its limit, or its file system full), and the last such refusal. */
    private final AtomicLong diskFulls = new AtomicLong();
    private volatile DiskFullException lastDiskFull;
    /** Allocations waiting for releases wait on this; releases notify it only when someone waits. */
    private final Object waitLock = new Object();
    private volatile int waiters;
    private final AtomicLong adviceErrors = new AtomicLong();
    private final long startMillis = System.currentTimeMillis();
    /** Milliseconds since start, kept by the background thread: a volatile read on the hot path. */
    private volatile int nowMillis;
    private volatile Thread background;
    /** A GC was asked for: ND4J arrays left to the GC are released only when one runs. */
    private volatile boolean gcRequested;
    private long lastGcMillis;
    private final AtomicLong gcs = new AtomicLong();
    /** Reuse of released buffers (memgov.pool.*), or null when pooling is off. */
    private final BufferPool pool;
    /** Pool kind of direct ByteBuffers (DJL's allocateDirect). */
    public static final int POOL_DIRECT = 0;
    /**
     * A restored storage counts as last used this long before its restore until it is used again in a
     * later tick of the clock: it is spilled before anything used since, but after what has been idle
     * longer. Without this, passes over a working set larger than the limit (LRU's worst case) spill
     * every tensor just before its next use; with it, a loop keeps a stable part of its working set
     * resident (scan resistance, as in 2Q or the kernel's inactive list).
     */
    static final int PROBATION_MILLIS = 1000;
    /**
     * The last access of a storage restored ahead of use and not used since: demand spills take it
     * last (they go by oldest access), and its first use is a prefetch hit ({@link #touch}).
     */
    static final int PREFETCHED = Integer.MAX_VALUE;
    /** Restores ahead of use (memgov.prefetch=auto with spilling), or null. */
    private final Prefetcher prefetcher;

    /**
     * Trims the C heap (see {@link NativeHeap}) when a HOST limit is set; made on the background
     * thread as it starts (the platform MBean server), null until then and without a limit.
     */
    private volatile NativeHeap nativeHeap;

    /** A pooled entry idle this long is freed. */
    static final int POOL_IDLE_MILLIS = 5000;
    /** Run once on the background thread as it starts (JMX, JFR: off the application's start-up path). */
    private final List<Runnable> backgroundStart = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Run about once a second on the background thread (the config file watch). */
    private final List<Runnable> everySecond = new java.util.concurrent.CopyOnWriteArrayList<>();

    public Governor(MemgovConfig config, EventLog log) {
        this.config = config;
        this.log = log;
        this.host = new Budget("host", config.hostLimit());
        this.disk = new Budget("disk", config.diskLimit());
        for (int i = 0; i < FRAMEWORKS.length; i++) {
            hostByFramework[i] = new Budget("host." + FRAMEWORKS[i], Budget.NONE);
        }
        this.store = new SpillStore(java.nio.file.Paths.get(config.diskDir()), disk);
        if (config.poolEnabled() && config.poolMax() > 0) {
            pool = new BufferPool(config.poolMax());
            pool.register(DirectBuffers.FREER); // POOL_DIRECT
        } else {
            pool = null;
        }
        this.metrics = new Metrics(config.sites(), config.sitesSampleBytes());
        this.indexAll = spills(config);
        this.prefetcher = config.hostLimit() >= 0 && config.onLimit() == OnLimit.SPILL && config.prefetch()
                ? new Prefetcher(this) : null;
    }

    /** True when {@code config} can spill: a HOST or DEVICE limit, and {@code on-limit=spill}. */
    private static boolean spills(MemgovConfig config) {
        return (config.hostLimit() >= 0 || config.deviceLimit() >= 0) && config.onLimit() == OnLimit.SPILL;
    }

    /** The buffer pool, or null when pooling is off. */
    public BufferPool pool() { return pool; }

    public Metrics metrics() { return metrics; }

    public SpillStore spillStore() { return store; }

    // ---------------------------------------------------------------- installation

    /** Makes {@code g} the governor the framework helpers report to. */
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

    /** True once GPU {@code device} has a budget (something was allocated on it). */
    public boolean hasDevice(int device) {
        return device >= 0 && device < devices.length() && devices.get(device) != null;
    }

    private Budget budget(int tier, int device) {
        return tier == Tier.DEVICE.ordinal() ? device(device) : host;
    }

    // ---------------------------------------------------------------- hot path (called by the framework helpers)

    /**
     * Counts a new storage of {@code bytes} on {@code tier} (a {@link Tier} ordinal; device is the
     * GPU index for DEVICE), admitting it under the tier's limit per {@code memgov.on-limit}.
     * Returns the record the helper keeps on the array, or null when nothing is governed.
     *
     * @throws MemgovOutOfMemoryError when the bytes cannot be admitted; nothing was counted
     */
    public static Object allocate(int framework, int tier, int device, long bytes) {
        Governor g = current;
        if (g == null || bytes < 0 || framework < 0 || framework >= FRAMEWORKS.length) {
            return null;
        }
        Tracked t = g.reserveTracked(framework, tier, device, bytes);
        g.commitTracked(t);
        return t;
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
            g.commitTracked(t);
        }
        return t;
    }

    private void commitTracked(Tracked t) {
        counts.allocated(t.bytes);
        if (t.site != Sites.UNSAMPLED) {
            metrics.committed(t);
        }
        if (indexed(t)) {
            ledger.add(t);
        }
    }

    /** True when {@code owner} went into the ledger at its commit (immutable once it was published). */
    private boolean indexed(Tracked owner) {
        return indexAll || owner.site != Sites.UNSAMPLED;
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
        if (metrics.wants(t)) {
            metrics.sample(t, t.lastAccess);
        }
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
        long diskFullsBefore = diskFulls.get(); // a refusal after spills failed for want of disk names the disk
        limitHits.incrementAndGet();
        if (limit >= 0 && bytes > limit) {
            throw fail(budget, tier, bytes, policy, "the request alone is larger than the limit");
        }
        if (policy != OnLimit.FAIL) {
            logLimit(budget, tier, bytes, policy); // a refusal is logged by fail(), once, with its message
        }
        // pooled bytes count against HOST: dropping idle buffers is the first thing a limit does
        if (tier != Tier.DEVICE.ordinal() && trimPool(budget.used() + bytes - limit) > 0 && budget.tryReserve(bytes)) {
            return;
        }
        // spill down to the low watermark, and at least enough for this request
        long spillTarget = Math.min((long) (limit * config.spillLowWatermark()), limit - bytes);
        if (policy == OnLimit.SPILL) {
            spill(tier, device, spillTarget);
            if (tier != Tier.DEVICE.ordinal()) {
                trimPool(budget.used() + bytes - limit); // memory the spills gave back to the pool
            }
            if (budget.tryReserve(bytes)) {
                return;
            }
        }
        if (policy == OnLimit.SPILL || policy == OnLimit.WAIT) {
            if (hostByFramework[FW_ND4J].used() > 0) {
                gcRequested = true; // ND4J arrays the application dropped without close() go only when a GC runs
            }
            long deadline = System.nanoTime() + config.waitTimeoutMillis() * 1_000_000L;
            for (;;) {
                synchronized (waitLock) {
                    waiters++;
                    try {
                        if (budget.tryReserve(bytes)) {
                            return;
                        }
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            break;
                        }
                        // releases wake us at once; with spill, tensors unpinned meanwhile are tried every 10 ms
                        waitLock.wait(Math.max(1, Math.min(left / 1_000_000L, policy == OnLimit.SPILL ? 10 : Long.MAX_VALUE)));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    } finally {
                        waiters--;
                    }
                }
                if (policy == OnLimit.SPILL) {
                    spill(tier, device, spillTarget);
                }
                if (tier != Tier.DEVICE.ordinal()) {
                    trimPool(budget.used() + bytes - limit); // buffers pooled while we waited
                }
            }
            String within = " within memgov.wait.timeout=" + config.waitTimeoutMillis() + "ms";
            DiskFullException full = policy == OnLimit.SPILL && diskFulls.get() != diskFullsBefore ? lastDiskFull : null;
            if (full != null) {
                throw fail(budget, tier, bytes, policy, diskFullReason(full) + " and nothing was released" + within,
                        diskFullFix(full));
            }
            throw fail(budget, tier, bytes, policy, (policy == OnLimit.SPILL
                    ? "nothing more could be spilled (tensors in use, shared or not spillable) and nothing was released"
                    : "nothing was released") + within);
        }
        throw fail(budget, tier, bytes, policy, null);
    }

    // ---------------------------------------------------------------- spill and restore

    /** {@code framework}'s arrays may be spilled through {@code bridge}. */
    public static void registerSpillBridge(int framework, SpillBridge bridge) {
        Governor g = current;
        if (g != null && framework >= 0 && framework < FRAMEWORKS.length) {
            g.spillBridges[framework] = bridge;
        }
    }

    /** {@code tensor} (the framework object) is what a spill bridge spills for {@code record}. */
    public static void keep(Object record, Object tensor) {
        if (record instanceof Tracked) {
            ((Tracked) record).storage.tensor = tensor;
        }
    }

    /** The framework object kept to spill the storage behind {@code record} (see {@link #keep}), or null. */
    public static Object kept(Object record) {
        return record instanceof Tracked ? ((Tracked) record).storage.tensor : null;
    }

    /**
     * The storage behind {@code record} now belongs to {@code tensor} (e.g. after DJL's intern swapped
     * handles): if it was spillable, the spill bridge now spills it through {@code tensor}.
     */
    public static void rekeep(Object record, Object tensor) {
        if (record instanceof Tracked) {
            Tracked owner = ((Tracked) record).storage;
            if (owner.tensor != null) {
                owner.tensor = tensor;
            }
        }
    }

    /** A native call is about to use the storage: it is not spilled until {@link #unpin}. */
    public static void pin(Object record) {
        if (record instanceof Tracked) {
            Tracked.PINS.incrementAndGet(((Tracked) record).storage);
        }
    }

    /** True while a native call uses the storage behind {@code record}. */
    public static boolean pinned(Object record) {
        return record instanceof Tracked && ((Tracked) record).storage.pins > 0;
    }

    /** True when memgov spills over the HOST limit: a limit is set and on-limit is spill. */
    public static boolean spillMode() {
        Governor g = current;
        return g != null && (g.host.limit() >= 0 || g.config.deviceLimit() >= 0) && g.config.onLimit() == OnLimit.SPILL;
    }

    public static void unpin(Object record) {
        if (record instanceof Tracked) {
            Tracked.PINS.decrementAndGet(((Tracked) record).storage);
        }
    }

    /**
     * The storage was used: it is the last to be spilled. A storage restored in this clock tick stays
     * on probation (see {@link #PROBATION_MILLIS}): the use that brought it back does not count.
     */
    public static void touch(Object record) {
        Governor g = current;
        if (g != null && record instanceof Tracked) {
            Tracked s = ((Tracked) record).storage;
            int now = g.nowMillis;
            int last = s.lastAccess;
            if (last != now - PROBATION_MILLIS) {
                if (last == PREFETCHED) {
                    g.prefetchHit(s, now);
                } else {
                    s.lastAccess = now;
                }
            }
        }
    }

    /**
     * The first use of a storage restored ahead of use: a hit. From here it is as if restored now (on
     * probation), and its successors are fetched.
     */
    private void prefetchHit(Tracked s, int now) {
        s.lastAccess = now - PROBATION_MILLIS;
        Prefetcher p = prefetcher;
        if (p != null) {
            p.hits.incrementAndGet();
            p.miss(s);
        }
    }

    /** Stops the prefetch thread (tests; at exit it is a daemon). */
    void stopPrefetcher() {
        if (prefetcher != null) {
            prefetcher.stop();
        }
    }

    /**
     * The prefetch thread: restores spilled storage {@code t} into headroom under the HOST limit
     * (nothing is spilled for it). False when it does not fit (the caller stops following links);
     * true otherwise, whether or not it was restored.
     */
    boolean prefetch(Tracked t) {
        SpillBridge bridge = spillBridges[t.framework];
        Object tensor = t.tensor;
        if (bridge == null || tensor == null) {
            return true;
        }
        // headroom: free bytes under the limit, or idle pooled ones (they count on HOST): an idle entry
        // of the class the bridge's restore takes is handed to it, any other is dropped for it
        PoolLease handed = null;
        if (!host.tryReserve(t.bytes)) {
            handed = handOff(bridge.restorePoolKind(), t.bytes);
            if (handed == null && !(trimPool(t.bytes) > 0 && host.tryReserve(t.bytes))) {
                return false;
            }
        }
        if (!Tracked.STATE.compareAndSet(t, Tracked.SPILLED, Tracked.RESTORING)) {
            host.release(t.bytes);
            returnHandOff(handed);
            return true;
        }
        hostByFramework[t.framework].forceReserve(t.bytes);
        if (PARENT[t.framework] >= 0) {
            hostByFramework[PARENT[t.framework]].forceReserve(t.bytes);
        }
        t.restoreStarted = System.nanoTime();
        prefetcher.inFlight = t;
        boolean ran = false;
        try {
            ran = bridge.restoreAhead(tensor, t); // true: it ended the restore (endRestore), well or not
        } catch (Throwable e) {
            ran = true; // a bridge throws only from its restore, which ends itself
            log.emit(LogLevel.DEBUG, "prefetch-failed", "id", t.id, "message", String.valueOf(e));
        } finally {
            if (!ran) {
                endRestore(t, false);
            }
            prefetcher.inFlight = null;
            returnHandOff(handed);
        }
        return true;
    }

    /** The idle pooled entry a prefetch took for its restore, until that restore's poolTake finds it. */
    private static final ThreadLocal<PoolLease> HANDED = new ThreadLocal<>();

    /**
     * Takes an idle pooled entry of {@code kind} for {@code bytes} (its bytes leave the pool's share of
     * HOST) and reserves {@code bytes} in its place; the restore's {@link #poolTake} of that class on
     * this thread gets it. Null (nothing changed) when there is none or the bytes still do not fit.
     */
    private PoolLease handOff(int kind, long bytes) {
        long size = BufferPool.classSize(bytes);
        if (kind < 0 || pool == null || size <= 0 || pool.idleBytes() < size) {
            return null;
        }
        Object entry = pool.take(kind, size);
        if (entry == null) {
            return null;
        }
        host.release(size);
        if (!host.tryReserve(bytes)) {
            poolReturn(new PoolLease(kind, entry, size));
            return null;
        }
        PoolLease lease = new PoolLease(kind, entry, size);
        HANDED.set(lease);
        return lease;
    }

    /** A handed entry the restore did not take goes back to the pool (or is freed). */
    private void returnHandOff(PoolLease lease) {
        if (lease != null && HANDED.get() == lease) {
            HANDED.remove();
            poolReturn(lease);
        }
    }

    /** Frees {@code tier} down to {@code targetUsed} bytes by spilling the least recently used tensors. */
    private void spill(int tier, int device, long targetUsed) {
        boolean offload = tier == Tier.DEVICE.ordinal();
        Budget budget = budget(tier, device);
        List<Tracked> candidates = new ArrayList<>();
        ledger.forEach(t -> {
            if (t.state == Tracked.RESIDENT && t.pins == 0 && t.tensor != null && t.refs == 1
                    && t.tier == tier && (!offload || t.device == device) && spillBridges[t.framework] != null) {
                candidates.add(t);
            }
        });
        candidates.sort((x, y) -> Integer.compare(x.lastAccess, y.lastAccess));
        for (Tracked victim : candidates) {
            // a spilled buffer's memory may go to the pool (where it still counts on HOST): it is as
            // good as free, and the caller trims what it needs
            if (budget.used() - (offload || pool == null ? 0 : pool.idleBytes()) <= targetUsed) {
                return;
            }
            if (offload) {
                offloadOne(victim);
            } else {
                spillOne(victim);
            }
        }
    }

    /** DEVICE→HOST: the victim's bytes are admitted on HOST (which may spill HOST→DISK), then moved. */
    private boolean offloadOne(Tracked victim) {
        if (!Tracked.STATE.compareAndSet(victim, Tracked.RESIDENT, Tracked.SPILLING)) {
            return false;
        }
        long t0 = System.nanoTime();
        boolean moved = false;
        try {
            if (!host.tryReserve(victim.bytes)) {
                admitOverLimit(host, Tier.HOST.ordinal(), 0, victim.bytes);
            }
        } catch (MemgovOutOfMemoryError noRoom) {
            victim.state = Tracked.RESIDENT; // HOST has no room either: the tensor stays on its device
            return false;
        }
        try {
            moved = victim.pins == 0 && spillBridges[victim.framework].offload(victim.tensor, victim);
        } catch (Throwable t) {
            error("offloading tensor " + victim.id + " to host failed; it stays on its device", t);
        }
        if (!moved) {
            host.release(victim.bytes);
            victim.state = Tracked.RESIDENT;
            signalReleased();
            return false;
        }
        device(victim.device).release(victim.bytes);
        hostByFramework[victim.framework].forceReserve(victim.bytes);
        if (PARENT[victim.framework] >= 0) {
            hostByFramework[PARENT[victim.framework]].forceReserve(victim.bytes);
        }
        victim.state = Tracked.OFFLOADED;
        long micros = (System.nanoTime() - t0) / 1000;
        offloads.incrementAndGet();
        offloadBytes.addAndGet(victim.bytes);
        metrics.spilled(victim.id, victim.bytes, "device." + victim.device, "host", micros);
        log.emit(LogLevel.DEBUG, "spill", "id", victim.id, "bytes", victim.bytes, "from", "device." + victim.device,
                "to", "host", "micros", micros);
        signalReleased();
        return true;
    }

    /** True when the storage behind {@code record} is spilled or offloaded, or on its way out or back. */
    public static boolean away(Object record) {
        if (!(record instanceof Tracked)) {
            return false;
        }
        int st = ((Tracked) record).storage.state;
        return st != Tracked.RESIDENT && st != Tracked.FREED;
    }

    /** True when the storage behind {@code record} was offloaded to HOST (rather than spilled to DISK). */
    public static boolean offloaded(Object record) {
        return record instanceof Tracked && ((Tracked) record).storage.state == Tracked.OFFLOADED;
    }

    private boolean spillOne(Tracked victim) {
        if (!Tracked.STATE.compareAndSet(victim, Tracked.RESIDENT, Tracked.SPILLING)) {
            return false;
        }
        SpillFile file = null;
        SpillFile clean = victim.spillFile; // the file of its last spill, kept since its restore (or null)
        long t0 = System.nanoTime();
        try {
            if (victim.pins == 0) {
                file = spillBridges[victim.framework].spill(victim.tensor, victim, victim.id, store);
            }
        } catch (SpillException e) {
            // a full disk or an I/O error: nothing was lost, the tensor stays resident
            if (e instanceof DiskFullException) {
                lastDiskFull = (DiskFullException) e;
                diskFulls.incrementAndGet();
            }
            diskFailures.incrementAndGet();
            if (diskFailures.get() <= MAX_ADVICE_ERRORS_LOGGED) {
                error(e.getMessage(), null);
            }
        } catch (Throwable t) {
            error("spilling tensor " + victim.id + " failed; it stays in memory", t);
        }
        if (file == null) {
            victim.state = Tracked.RESIDENT;
            return false;
        }
        victim.spillFile = file;
        host.release(victim.bytes);
        hostByFramework[victim.framework].release(victim.bytes);
        if (PARENT[victim.framework] >= 0) {
            hostByFramework[PARENT[victim.framework]].release(victim.bytes);
        }
        if (victim.lastAccess == PREFETCHED && prefetcher != null) {
            prefetcher.wasted.incrementAndGet(); // fetched ahead and spilled again before any use
        }
        victim.state = Tracked.SPILLED;
        NativeHeap heap = nativeHeap;
        if (heap != null && heap.freed(victim.bytes)) {
            if (heap.lagging()) {
                trimNativeHeap(); // the background thread did not get to it: RSS must not run ahead
            } else {
                java.util.concurrent.locks.LockSupport.unpark(background); // the trim runs there
            }
        }
        long micros = (System.nanoTime() - t0) / 1000;
        spills.incrementAndGet();
        spillBytes.addAndGet(victim.bytes);
        spillMicros.addAndGet(micros);
        boolean reused = file == clean;
        if (reused) {
            cleanSpills.incrementAndGet();
            cleanSpillBytes.addAndGet(victim.bytes);
            cleanSpillMicros.addAndGet(micros);
        }
        metrics.spilled(victim.id, victim.bytes, "host", "disk", micros);
        log.emit(LogLevel.DEBUG, "spill", "id", victim.id, "bytes", victim.bytes, "from", "host", "to", "disk",
                "micros", micros, "file", file.path(), "clean", reused);
        return true;
    }

    /**
     * The spilled storage behind {@code record} is about to be used. Returns true when the caller must
     * restore it (HOST bytes are admitted for it: the caller then calls {@link #readSpill} and
     * {@link #endRestore}); false when it is resident again (another thread restored it, or a spill
     * was given up) or gone.
     *
     * @throws MemgovOutOfMemoryError when its bytes cannot be admitted back into HOST
     */
    public static boolean beginRestore(Object record) {
        Governor g = current;
        if (g == null || !(record instanceof Tracked)) {
            return false;
        }
        Tracked t = ((Tracked) record).storage;
        int from;
        boolean waited = false;
        for (;;) {
            from = t.state;
            if (from == Tracked.SPILLED || from == Tracked.OFFLOADED) {
                if (Tracked.STATE.compareAndSet(t, from, Tracked.RESTORING)) {
                    break;
                }
            } else if (from == Tracked.SPILLING || from == Tracked.RESTORING) {
                if (!waited && from == Tracked.RESTORING && g.prefetcher != null && g.prefetcher.inFlight == t) {
                    waited = true;
                    g.prefetcher.waited.incrementAndGet(); // its prefetch is reading it: wait, do not read twice
                }
                Thread.onSpinWait();
                Thread.yield();
            } else {
                return false;
            }
        }
        // a spilled storage comes back to HOST; an offloaded one to its device
        Budget home = from == Tracked.OFFLOADED ? g.device(t.device) : g.host;
        int homeTier = from == Tracked.OFFLOADED ? Tier.DEVICE.ordinal() : Tier.HOST.ordinal();
        try {
            if (!home.tryReserve(t.bytes)) {
                SpillBridge bridge = g.spillBridges[t.framework];
                int kind = from == Tracked.SPILLED && bridge != null && g.pool != null ? bridge.restorePoolKind() : -1;
                long size = kind >= 0 ? BufferPool.classSize(t.bytes) : -1;
                if (size > 0) { // a victim's pooled entry of the class this restore takes comes straight to it
                    WANTED.set(new PoolLease(kind, null, size));
                    WANTING.incrementAndGet();
                }
                try {
                    g.admitOverLimit(home, homeTier, t.device, t.bytes);
                } finally {
                    if (size > 0) {
                        WANTING.decrementAndGet();
                        WANTED.remove();
                    }
                }
            }
        } catch (Throwable e) {
            t.state = from;
            g.returnHandOff(HANDED.get());
            throw e;
        }
        if (from == Tracked.SPILLED) {
            g.hostByFramework[t.framework].forceReserve(t.bytes);
            if (PARENT[t.framework] >= 0) {
                g.hostByFramework[PARENT[t.framework]].forceReserve(t.bytes);
            }
            if (g.prefetcher != null) {
                g.prefetcher.miss(t);
            }
        }
        t.restoreStarted = System.nanoTime();
        return true;
    }

    /** Reads the spilled bytes of {@code record} into {@code target}, verified (see {@link SpillStore#readInto}). */
    public static void readSpill(Object record, java.nio.ByteBuffer target) throws SpillException {
        Governor g = current;
        Tracked t = ((Tracked) record).storage;
        SpillFile file = t.spillFile;
        try {
            g.store.readInto(file, target);
        } catch (SpillException e) {
            g.restoreFailed(t, file, e);
            throw e;
        }
    }

    /**
     * A spill file could not be read back (corrupt, missing, unreadable): the application gets the
     * exception from the tensor's use; the log gets one {@code error} event per file.
     */
    private void restoreFailed(Tracked t, SpillFile file, SpillException e) {
        if (file == null || !store.holds(file) || t.state == Tracked.FREED) {
            return; // the tensor was released meanwhile (a prefetch racing close): its file went with it
        }
        if (!file.firstFailure()) {
            return;
        }
        StackTraceElement[] st = e.getStackTrace();
        log.emit(LogLevel.ERROR, "error", "message", e.getMessage(), "exception", String.valueOf(e),
                "at", st.length > 0 ? st[0].toString() : "", "id", t.id, "bytes", t.bytes,
                "file", file == null ? "" : String.valueOf(file.path()));
    }

    /** Ends a restore: {@code ok}, the storage is resident again and its file gone; else it stays spilled. */
    public static void endRestore(Object record, boolean ok) {
        Governor g = current;
        Tracked t = ((Tracked) record).storage;
        if (t.spillFile == null) { // an offloaded DEVICE storage (a spilled one always has its file)
            g.endOffloadRestore(t, ok);
            return;
        }
        g.returnHandOff(HANDED.get()); // handed to this restore and not taken (a restore that did not pool)
        if (!ok) {
            g.host.release(t.bytes);
            g.hostByFramework[t.framework].release(t.bytes);
            if (PARENT[t.framework] >= 0) {
                g.hostByFramework[PARENT[t.framework]].release(t.bytes);
            }
            t.state = Tracked.SPILLED;
            g.signalReleased();
            return;
        }
        // the file stays, a clean copy: spilling the storage again while its bytes are unchanged writes nothing
        g.store.retain(t.spillFile);
        long micros = (System.nanoTime() - t.restoreStarted) / 1000;
        if (g.prefetcher != null && g.prefetcher.inFlight == t) {
            t.lastAccess = PREFETCHED;
            t.state = Tracked.RESIDENT;
            g.prefetcher.prefetches.incrementAndGet();
            g.prefetcher.prefetchBytes.addAndGet(t.bytes);
            g.log.emit(LogLevel.DEBUG, "prefetch", "id", t.id, "bytes", t.bytes, "from", "disk", "to", "host",
                    "micros", micros);
            return;
        }
        t.lastAccess = g.nowMillis - PROBATION_MILLIS;
        t.state = Tracked.RESIDENT;
        g.restores.incrementAndGet();
        g.restoreBytes.addAndGet(t.bytes);
        g.restoreMicros.addAndGet(micros);
        g.metrics.restored(t.id, t.bytes, "disk", "host", micros);
        g.log.emit(LogLevel.DEBUG, "restore", "id", t.id, "bytes", t.bytes, "from", "disk", "to", "host",
                "micros", micros);
    }

    private void endOffloadRestore(Tracked t, boolean ok) {
        if (!ok) {
            device(t.device).release(t.bytes);
            t.state = Tracked.OFFLOADED;
            signalReleased();
            return;
        }
        releaseHostBytes(t);
        t.lastAccess = nowMillis;
        t.state = Tracked.RESIDENT;
        long micros = (System.nanoTime() - t.restoreStarted) / 1000;
        restores.incrementAndGet();
        restoreBytes.addAndGet(t.bytes);
        restoreMicros.addAndGet(micros);
        metrics.restored(t.id, t.bytes, "host", "device." + t.device, micros);
        log.emit(LogLevel.DEBUG, "restore", "id", t.id, "bytes", t.bytes, "from", "host", "to", "device." + t.device,
                "micros", micros);
        signalReleased();
    }

    /** Gives back HOST bytes held for {@code t} (its own, or an offloaded DEVICE storage's). */
    private void releaseHostBytes(Tracked t) {
        host.release(t.bytes);
        hostByFramework[t.framework].release(t.bytes);
        if (PARENT[t.framework] >= 0) {
            hostByFramework[PARENT[t.framework]].release(t.bytes);
        }
    }

    /** Deletes every spill file (at exit). */
    public void closeSpills() {
        store.close();
    }

    private MemgovOutOfMemoryError fail(Budget budget, int tier, long bytes, OnLimit policy, String why) {
        return fail(budget, tier, bytes, policy, why, null);
    }

    /** Why spilling stopped, when the disk did it: which disk, its use and limit (or its free space). */
    private static String diskFullReason(DiskFullException e) {
        String dir = e.dir() == null ? "?" : e.dir().toString();
        String use = "spill files hold " + e.used() + " bytes (" + Values.formatBytes(e.used()) + ") of memgov.disk.limit="
                + (e.limit() < 0 ? "none" : e.limit() + " bytes (" + Values.formatBytes(e.limit()) + ")");
        if (e.noSpace()) {
            Throwable c = e.getCause();
            String errno = c == null ? "no space left" : c.getMessage() != null ? c.getMessage() : c.toString();
            return "nothing more could be spilled: the disk of memgov.disk.dir=" + dir + " is full (" + errno
                    + (e.usable() >= 0 ? "; " + e.usable() + " bytes usable there" : "") + "; " + use + ")";
        }
        return "nothing more could be spilled: the DISK tier is at its limit (" + use + " in memgov.disk.dir=" + dir
                + "; a spill file of " + e.requested() + " bytes did not fit)";
    }

    private static String diskFullFix(DiskFullException e) {
        return e.noSpace()
                ? "Free space on that disk or point memgov.disk.dir to a bigger disk, raise memgov.host.limit, or close arrays that are no longer needed"
                : "Raise memgov.disk.limit (or memgov.host.limit), or close arrays that are no longer needed";
    }

    /** {@code fix}: what the user can do, null for the tier's usual advice. */
    private MemgovOutOfMemoryError fail(Budget budget, int tier, long bytes, OnLimit policy, String why, String fix) {
        failures.incrementAndGet();
        String tierName = budget.name().toUpperCase(java.util.Locale.ROOT);
        String msg = "memgov: " + tierName + " limit reached: requested " + bytes + " bytes ("
                + Values.formatBytes(bytes) + "), " + tierName + " holds " + budget.used() + " bytes ("
                + Values.formatBytes(budget.used()) + ") of its limit of " + budget.limit() + " bytes ("
                + Values.formatBytes(budget.limit()) + "); on-limit=" + policy.configName()
                + (why == null ? "" : ": " + why) + ". "
                + (fix != null ? fix : "Raise memgov." + Tier.values()[tier].key() + ".limit, close arrays that are no longer needed"
                + (policy == OnLimit.FAIL ? ", or set memgov.on-limit=spill or wait" : ""));
        if (limitLogDue(2 * tier + 1)) {
            log.emit(LogLevel.ERROR, "limit", "tier", Tier.values()[tier].key(), "requested", bytes, "used", budget.used(),
                    "limit", budget.limit(), "action", "fail", "not.logged", limitsNotLogged[2 * tier + 1].getAndSet(0),
                    "message", msg);
        }
        metrics.limitReached(Tier.values()[tier].key(), bytes, budget.used(), budget.limit(), "fail");
        return new MemgovOutOfMemoryError(msg);
    }

    /** A {@code limit} event, at most one a second per tier (with how many were not logged). */
    private void logLimit(Budget budget, int tier, long bytes, OnLimit policy) {
        metrics.limitReached(Tier.values()[tier].key(), bytes, budget.used(), budget.limit(), policy.configName());
        if (limitLogDue(2 * tier)) {
            log.emit(LogLevel.INFO, "limit", "tier", Tier.values()[tier].key(), "requested", bytes, "used", budget.used(),
                    "limit", budget.limit(), "action", policy.configName(), "not.logged", limitsNotLogged[2 * tier].getAndSet(0));
        }
    }

    /**
     * True when a {@code limit} event of {@code slot} (see {@link #lastLimitLog}) may be logged now: the
     * first, and then at most one a second; otherwise it is counted in the next one's {@code not.logged}.
     */
    private boolean limitLogDue(int slot) {
        long now = System.nanoTime();
        AtomicLong lastLog = lastLimitLog[slot];
        long last = lastLog.get();
        if (last != 0 && now - last < 1_000_000_000L || !lastLog.compareAndSet(last, now == 0 ? 1 : now)) {
            limitsNotLogged[slot].incrementAndGet();
            return false;
        }
        return true;
    }

    private static AtomicLong[] newCounters(int n) {
        AtomicLong[] a = new AtomicLong[n];
        for (int i = 0; i < n; i++) {
            a[i] = new AtomicLong();
        }
        return a;
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

    /**
     * The array behind {@code record} was freed by the garbage collector without having been closed:
     * a {@code leak} event (rate-limited, see {@link Metrics#leak}). The caller then releases it.
     */
    public static void leaked(Object record) {
        Governor g = current;
        if (g != null && record instanceof Tracked && !((Tracked) record).isReleased()) {
            g.metrics.leak(((Tracked) record).storage, g.log);
        }
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
                if (g.indexed(owner)) {
                    g.untrack(owner);
                } else {
                    g.untrackUnindexed(owner);
                }
            }
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
            poolReturn(lease);
        }
        counts.released();
        unreserve(owner);
    }

    void untrack(Tracked owner) {
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
            poolReturn(lease);
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
            signalReleased();
        } else if (st == Tracked.OFFLOADED) {
            releaseHostBytes(owner); // its bytes are in host memory, not on its device
            signalReleased();
        } else {
            unreserve(owner);
        }
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

    // ---------------------------------------------------------------- buffer pool

    /**
     * Asks the governor's thread to run a GC soon (at most one each 20 ms): arrays a framework
     * releases only through the GC (ND4J's dropped without close()) come back to the pool.
     */
    public static void requestGc() {
        Governor g = current;
        if (g != null && !g.gcRequested) {
            g.gcRequested = true;
            Thread t = g.background;
            if (t != null) {
                java.util.concurrent.locks.LockSupport.unpark(t); // now, not at the next 10 ms tick
            }
        }
    }

    /** True when released buffers are pooled (memgov.pool.enabled and a governor installed). */
    public static boolean poolEnabled() {
        Governor g = current;
        return g != null && g.pool != null;
    }

    /**
     * Registers another kind of pooled entry (e.g. a framework's native allocations), freed by
     * {@code freer} when the pool drops one. Returns the kind for {@link #poolTake}/{@link #poolAttach},
     * or -1 when pooling is off.
     */
    public static int poolKind(BufferPool.Freer freer) {
        Governor g = current;
        return g == null || g.pool == null ? -1 : g.pool.register(freer);
    }

    /**
     * An idle pooled entry of {@code kind} (e.g. {@link #POOL_DIRECT}) and class {@code classSize}
     * ({@link BufferPool#classSize}), or null on a miss (the caller allocates {@code classSize} bytes)
     * or when pooling is off. Its bytes leave the pool's share of the HOST tier.
     */
    public static Object poolTake(int kind, long classSize) {
        Governor g = current;
        if (g == null || g.pool == null) {
            return null;
        }
        PoolLease handed = HANDED.get();
        if (handed != null && handed.kind == kind && handed.size == classSize) {
            HANDED.remove(); // a prefetch took it for this restore, its bytes already out of the pool's share
            return handed.entry;
        }
        Object e = g.pool.take(kind, classSize);
        if (e != null) {
            g.host.release(classSize);
        }
        return e;
    }

    /**
     * The storage behind {@code record} lives in {@code entry} (of {@code kind}, class
     * {@code classSize}): once the last array over that storage is released, the entry goes back to
     * the pool. False when it could not be attached (no governor, pooling off, not a live storage, or
     * one already attached): the caller leaves the entry to the GC.
     */
    public static boolean poolAttach(Object record, int kind, Object entry, long classSize) {
        Governor g = current;
        if (g == null || g.pool == null || !(record instanceof Tracked) || entry == null) {
            return false;
        }
        Tracked t = (Tracked) record;
        if (t.storage != t || t.pooled != null || t.refs <= 0 || t.state == Tracked.FREED) {
            return false;
        }
        t.pooled = new PoolLease(kind, entry, classSize);
        return true;
    }

    /**
     * The storage behind {@code record} no longer lives in the pooled entry attached to it (a spill
     * moved its bytes to disk, and its restore gets memory of its own): the entry goes back to the
     * pool now, or is freed when the pool does not take it (as during a spill over the limit).
     */
    public static void poolRelease(Object record) {
        Governor g = current;
        if (g == null || g.pool == null || !(record instanceof Tracked)) {
            return;
        }
        Tracked t = ((Tracked) record).storage;
        PoolLease lease = t.pooled;
        if (lease != null) {
            t.pooled = null;
            g.poolReturn(lease);
        }
    }

    /** True when the storage behind {@code record} lives in a pooled entry. */
    public static boolean pooledStorage(Object record) {
        return record instanceof Tracked && ((Tracked) record).storage.pooled != null;
    }

    /** The direct buffer that NDSerializer-like code allocated on this thread for a tensor to adopt. */
    private static final ThreadLocal<Object> OWNED_DIRECT = new ThreadLocal<>();

    /**
     * A framework's decoder allocated {@code buffer} to read a tensor into, and hands it to the
     * tensor it creates next on this thread, keeping no other reference: see {@link #takeOwned}.
     */
    public static void owned(Object buffer) {
        OWNED_DIRECT.set(buffer);
    }

    /** True (once) when {@code buffer} is the one this thread's last {@link #owned} call announced. */
    public static boolean takeOwned(Object buffer) {
        Object o = OWNED_DIRECT.get();
        if (o == null) {
            return false;
        }
        OWNED_DIRECT.remove();
        return o == buffer;
    }

    /** Offers an entry no storage uses back to the pool (freed when the pool does not take it). */
    public static void poolGive(int kind, Object entry, long classSize) {
        Governor g = current;
        if (g != null && g.pool != null && entry != null) {
            g.poolReturn(new PoolLease(kind, entry, classSize));
        }
    }

    /**
     * The kind and class of pooled entry a demand restore on this thread is admitting memory for
     * ({@link #beginRestore}): an entry a spill gives back meanwhile (a victim's) goes to that restore
     * ({@link #HANDED}) instead of to the pool, where, over the limit, it would be freed and the
     * restore would allocate (and fault in) fresh memory for the same bytes.
     */
    private static final ThreadLocal<PoolLease> WANTED = new ThreadLocal<>();
    /** Threads with a {@link #WANTED} entry now: while 0, a pool return looks no further. */
    private static final java.util.concurrent.atomic.AtomicInteger WANTING = new java.util.concurrent.atomic.AtomicInteger();

    private void poolReturn(PoolLease lease) {
        if (WANTING.get() > 0 && HANDED.get() == null) {
            PoolLease want = WANTED.get();
            if (want != null && want.kind == lease.kind && want.size == lease.size) {
                WANTED.remove();
                HANDED.set(lease); // its bytes are out of every count, as a fresh allocation's are
                return;
            }
        }
        if (host.tryReserve(lease.size)) { // pooled bytes count against HOST, within its limit
            if (pool.give(lease.kind, lease.entry, lease.size, nowMillis)) {
                return;
            }
            host.release(lease.size);
        }
        pool.free(lease.kind, lease.entry, lease.size);
    }

    /** Frees idle pooled entries worth at least {@code bytes} (all if fewer); returns the bytes freed. */
    long trimPool(long bytes) {
        if (pool == null || pool.idleBytes() == 0 || bytes <= 0) {
            return 0;
        }
        long freed = pool.trim(bytes);
        if (freed > 0) {
            host.release(freed);
            signalReleased();
        }
        return freed;
    }

    void trimIdlePool() {
        long freed = pool.trimIdle(nowMillis, POOL_IDLE_MILLIS);
        if (freed > 0) {
            host.release(freed);
            signalReleased();
        }
    }

    /** A pooled entry a storage lives in, given back when the storage goes. */
    static final class PoolLease {
        final int kind;
        final Object entry;
        final long size;

        PoolLease(int kind, Object entry, long size) {
            this.kind = kind;
            this.entry = entry;
            this.size = size;
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

    public long allocations() { return counts.allocations(); }
    public long releases() { return counts.releases(); }
    public long allocatedBytes() { return counts.allocatedBytes(); }

    /** Storages counted now: allocations less releases (exact once the threads that allocate are quiet). */
    public long live() {
        long releases = counts.releases(); // first: a release is never counted before its allocation
        return live(counts.allocations(), releases);
    }

    /** Live storages from counts read releases first (a thread that allocates meanwhile never makes it negative). */
    private static long live(long allocations, long releases) {
        return Math.max(0, allocations - releases);
    }
    public long failures() { return failures.get(); }
    public long adviceErrors() { return adviceErrors.get(); }

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
        long releases = counts.releases(); // first: a release is never counted before its allocation
        long allocations = counts.allocations();
        m.put("allocations", allocations);
        m.put("releases", releases);
        m.put("spills", spills.get());
        m.put("restores", restores.get());
        m.put("spill.bytes", spillBytes.get());
        m.put("restore.bytes", restoreBytes.get());
        m.put("pool.hits", pool == null ? 0L : pool.hits());
        m.put("pool.misses", pool == null ? 0L : pool.misses());
        m.put("failures", failures.get());
        m.put("limit.hits", limitHits.get());
        m.put("spill.micros", spillMicros.get());
        m.put("restore.micros", restoreMicros.get());
        m.put("disk.failures", diskFailures.get());
        m.put("offloads", offloads.get());
        m.put("offload.bytes", offloadBytes.get());
        m.put("spills.clean", cleanSpills.get());
        m.put("spill.clean.bytes", cleanSpillBytes.get());
        m.put("spill.clean.micros", cleanSpillMicros.get());
        m.put("live", live(allocations, releases));
        m.put("pool.bytes", pool == null ? 0L : pool.idleBytes());
        m.put("gc.requests", gcs.get());
        Prefetcher pf = prefetcher;
        m.put("prefetches", pf == null ? 0L : pf.prefetches.get());
        m.put("prefetch.hits", pf == null ? 0L : pf.hits.get());
        m.put("prefetch.wasted", pf == null ? 0L : pf.wasted.get());
        m.put("prefetch.bytes", pf == null ? 0L : pf.prefetchBytes.get());
        m.put("restores.waited", pf == null ? 0L : pf.waited.get());
        m.put("prefetch.pauses", pf == null ? 0L : pf.pauses.get());
        NativeHeap heap = nativeHeap;
        m.put("native.trims", heap == null ? 0L : heap.trims.get());
        m.put("native.trim.bytes", heap == null ? 0L : heap.trimmedBytes.get());
        m.put("native.trim.micros", heap == null ? 0L : heap.trimMicros.get());
        m.put("pool.dropped", pool == null ? 0L : pool.dropped());
        for (int i = 0; i < FRAMEWORKS.length; i++) {
            m.put("host.used." + FRAMEWORKS[i], hostByFramework[i].used());
            m.put("host.peak." + FRAMEWORKS[i], hostByFramework[i].peak());
        }
        m.put("allocated.bytes", counts.allocatedBytes());
        m.putAll(perDevice);
        ProcessMemory.put(m, host.used());
        m.put("uptime.ms", System.currentTimeMillis() - startMillis);
        metrics.putFigures(m);
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
        if (prefetcher != null) {
            prefetcher.start();
        }
        Thread t = new Thread(() -> {
            long nextTrim = 0;
            long interval = reportIntervalMillis;
            long nextReport = interval > 0 ? System.currentTimeMillis() + interval : Long.MAX_VALUE;
            long nextSecond = System.currentTimeMillis() + 1000;
            try {
                for (Runnable r : backgroundStart) {
                    runSafely(r);
                }
                if (config.hostLimit() >= 0 && config.nativeTrim()) {
                    nativeHeap = NativeHeap.create(trimThreshold(config.hostLimit()));
                    if (!nativeHeap.available()) {
                        log.emit(LogLevel.INFO, "native-trim", "available", false, "reason", nativeHeap.unavailable());
                    }
                }
                while (!Thread.currentThread().isInterrupted()) {
                    java.util.concurrent.locks.LockSupport.parkNanos(10_000_000L); // or woken by requestGc
                    if (Thread.interrupted()) {
                        throw new InterruptedException();
                    }
                    long now = System.currentTimeMillis();
                    nowMillis = (int) (now - startMillis);
                    metrics.drainSizes();
                    trimNativeHeap();
                    if (pool != null && now >= nextTrim) {
                        trimIdlePool();
                        nextTrim = now + 1000;
                    }
                    if (gcRequested && now - lastGcMillis >= 20) {
                        gcRequested = false;
                        lastGcMillis = now;
                        gcs.incrementAndGet();
                        if (!YoungGc.run()) {
                            System.gc();
                        }
                    }
                    long iv = config.reportIntervalMillis();
                    if (iv != interval) { // changed live
                        interval = iv;
                        nextReport = iv > 0 ? now + iv : Long.MAX_VALUE;
                    }
                    if (now >= nextReport) {
                        report();
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
                error("the governor's background thread stopped", e);
            }
        }, "memgov-governor");
        t.setDaemon(true);
        t.start();
        background = t;
    }

    /**
     * RSS growth beyond governed HOST growth that makes a trim due: a quarter of the HOST limit,
     * between 4 and 8 MiB (RSS then stays within the limit and 16 MiB of the process's floor).
     */
    static long trimThreshold(long hostLimit) {
        return Math.max(4L << 20, Math.min(8L << 20, hostLimit / 4));
    }

    /**
     * Background thread, each tick (and a spiller, when that thread lags): the C heap's check and trim
     * ({@link NativeHeap#check}); a trim is logged at debug with what it gave back.
     */
    private void trimNativeHeap() {
        NativeHeap heap = nativeHeap;
        if (heap == null || !heap.available()) {
            return;
        }
        long trims = heap.trims.get();
        long fell = heap.check(host.used());
        if (heap.trims.get() != trims) {
            log.emit(LogLevel.DEBUG, "native-trim", "bytes", fell, "on", Thread.currentThread().getName());
        }
    }

    private void runSafely(Runnable r) {
        try {
            r.run();
        } catch (Throwable e) {
            error("a background task failed", e);
        }
    }

    /** {@code task} runs once on the background thread as it starts; register before {@link #startBackground}. */
    public void atBackgroundStart(Runnable task) {
        backgroundStart.add(task);
    }

    /** {@code task} runs about once a second on the background thread, the first time a second after it starts. */
    public void everySecond(Runnable task) {
        everySecond.add(task);
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
        signalReleased(); // waiters re-check against a raised limit
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

    public long spills() { return spills.get(); }
    public long restores() { return restores.get(); }
    public long spillBytes() { return spillBytes.get(); }
    public long restoreBytes() { return restoreBytes.get(); }

    private volatile JvmIdentity identity;

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

    /** Set by {@link #summary()}: the summary is the run's last figures, so no report follows it. */
    private volatile boolean summarized;

    public void report() {
        if (summarized) {
            return;
        }
        log.emit(LogLevel.INFO, "report", identified(snapshot()));
    }

    /**
     * Logs a {@code report} now, labelled: a program (or a test) can mark a point of its run in the
     * log. Reached by name from any class loader; does nothing when no governor is installed.
     */
    public static void checkpoint(String label) {
        Governor g = current;
        if (g != null && !g.summarized) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("label", label);
            m.putAll(g.identified(g.snapshot()));
            g.log.emit(LogLevel.INFO, "report", m);
        }
    }

    /** Logs the summary and closes the log; called once at JVM exit. */
    public void summary() {
        summarized = true; // the background thread's periodic report must not come after it (report splits runs)
        log.emit(LogLevel.INFO, "summary", identified(snapshot(true)));
        log.flush();
    }

    private static final class PendingView {
        boolean set;
        long handle;
        Object parent;
    }
}
