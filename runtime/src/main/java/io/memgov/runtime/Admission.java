package io.memgov.runtime;

import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.OnLimit;
import io.memgov.runtime.config.Values;
import io.memgov.runtime.spill.DiskFullException;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The over-limit path: bytes that do not fit under a tier's limit. Per {@code memgov.on-limit}, an
 * ordered list of {@link Reclaimer}s runs (each may free memory: trim the pool, spill or offload cold
 * tensors, ask for a GC), the request is retried after each one that freed something, and then, unless
 * the policy is {@code fail}, the request waits for releases up to {@code memgov.wait.timeout}, running
 * the policy's reclaimers again at each wake-up; then it fails with a {@code memgov:} message (the
 * Arrow {@code AllocationListener.onFailedAllocation} seam, as a list).
 *
 * <p>Also where allocations wait and releases wake them ({@link #signalReleased}: a volatile read on
 * the release path while nobody waits), and the rate-limited {@code limit} events.
 */
final class Admission {
    /** One way of freeing memory for a request that met its limit. */
    @FunctionalInterface
    interface Reclaimer {
        /** Frees memory toward {@code r}; true when {@code r} may fit now (the admission then tries to reserve it). */
        boolean reclaim(Request r);
    }

    /** A request over its limit, as the reclaimers see it. */
    static final class Request {
        final Budget budget;
        final int tier;
        final int device;
        final long bytes;
        final long limit;
        /** Spills go down to this use: the low watermark, and at least enough for this request. */
        final long spillTarget;

        Request(Budget budget, int tier, int device, long bytes, long limit, double lowWatermark) {
            this.budget = budget;
            this.tier = tier;
            this.device = device;
            this.bytes = bytes;
            this.limit = limit;
            this.spillTarget = Math.min((long) (limit * lowWatermark), limit - bytes);
        }

        /** Bytes over the limit the request would be now. */
        long excess() {
            return budget.used() + bytes - limit;
        }

        boolean onHost() {
            return tier != Tier.DEVICE.ordinal();
        }
    }

    /** What one on-limit policy does: reclaimers before waiting, whether it waits, and what it says when it fails. */
    static final class Plan {
        final List<Reclaimer> first;
        final List<Reclaimer> whileWaiting;
        final boolean waits;
        /** Longest wait between two runs of {@link #whileWaiting} (releases wake the wait at once). */
        final long tickMillis;
        /** Why a waited request failed (when the disk did not stop the spills). */
        final String nothingFreed;

        Plan(List<Reclaimer> first, List<Reclaimer> whileWaiting, boolean waits, long tickMillis, String nothingFreed) {
            this.first = first;
            this.whileWaiting = whileWaiting;
            this.waits = waits;
            this.tickMillis = tickMillis;
            this.nothingFreed = nothingFreed;
        }
    }

    private final MemoryGovernor g;
    /** Index: an {@link OnLimit} ordinal. */
    private final Plan[] plans = new Plan[OnLimit.values().length];
    /** Allocations waiting for releases wait on this; releases notify it only when someone waits. */
    private final Object waitLock = new Object();
    private volatile int waiters;
    /**
     * {@code limit} events: when each was last logged and how many were not logged since, per tier
     * (index {@code 2 * tier}) and, for refusals ({@code action=fail}), on their own ({@code 2 * tier + 1}).
     */
    private final AtomicLong[] lastLimitLog = newCounters(2 * Tier.values().length);
    private final AtomicLong[] limitsNotLogged = newCounters(2 * Tier.values().length);
    /** The last spill refused for want of disk. */
    private volatile DiskFullException lastDiskFull;

    Admission(MemoryGovernor g) {
        this.g = g;
        // pooled bytes count against HOST: dropping idle buffers is the first thing a limit does
        Reclaimer trimPool = this::trimPool;
        Reclaimer spill = this::spill;
        Reclaimer requestGc = this::requestGc;
        plans[OnLimit.FAIL.ordinal()] = new Plan(Collections.singletonList(trimPool), Collections.emptyList(),
                false, 0, null);
        plans[OnLimit.WAIT.ordinal()] = new Plan(Arrays.asList(trimPool, requestGc), Collections.singletonList(trimPool),
                true, Long.MAX_VALUE, "nothing was released");
        // after a spill, the pool is trimmed again: memory the spills gave back to it
        plans[OnLimit.SPILL.ordinal()] = new Plan(Arrays.asList(trimPool, spill, trimPool, requestGc),
                Arrays.asList(spill, trimPool), true, 10,
                "nothing more could be spilled (tensors in use, shared or not spillable) and nothing was released");
    }

    /** The reclaimers and wait of {@code policy}. */
    Plan plan(OnLimit policy) {
        return plans[policy.ordinal()];
    }

    /**
     * Runs {@code reclaimers} in order, trying to reserve the request after each that says it may fit;
     * stops at the first reservation that succeeds. True when the bytes are reserved.
     */
    static boolean reclaim(List<Reclaimer> reclaimers, Request r) {
        for (Reclaimer x : reclaimers) {
            if (x.reclaim(r) && r.budget.tryReserve(r.bytes)) {
                return true;
            }
        }
        return false;
    }

    private boolean trimPool(Request r) {
        HostPool pool = g.hostPool();
        return r.onHost() && pool != null && pool.trim(r.excess()) > 0;
    }

    private boolean spill(Request r) {
        g.spiller().spill(r.tier, r.device, r.spillTarget);
        return true;
    }

    /** ND4J arrays the application dropped without close() go only when a GC runs: ask for one (nothing is freed yet). */
    private boolean requestGc(Request r) {
        if (g.host(Governor.FW_ND4J).used() > 0) {
            g.background().gcWanted();
        }
        return false;
    }

    /**
     * The slow path: {@code bytes} do not fit under {@code budget}'s limit. Per on-limit: the policy's
     * reclaimers, then (spill, wait) waiting for releases up to wait.timeout, then failing. Returns with
     * the bytes reserved, or throws.
     *
     * @throws MemgovOutOfMemoryError when the bytes cannot be admitted; nothing was reserved
     */
    void admit(Budget budget, int tier, int device, long bytes) {
        long limit = budget.limit();
        OnLimit policy = g.config().onLimit();
        Stats stats = g.stats();
        long diskFullsBefore = stats.diskFulls(); // a refusal after spills failed for want of disk names the disk
        stats.limitHit();
        if (limit >= 0 && bytes > limit) {
            throw fail(budget, tier, bytes, policy, "the request alone is larger than the limit");
        }
        if (policy != OnLimit.FAIL) {
            logLimit(budget, tier, bytes, policy); // a refusal is logged by fail(), once, with its message
        }
        Plan plan = plan(policy);
        Request r = new Request(budget, tier, device, bytes, limit, g.config().spillLowWatermark());
        if (reclaim(plan.first, r)) {
            return;
        }
        if (!plan.waits) {
            throw fail(budget, tier, bytes, policy, null);
        }
        long deadline = System.nanoTime() + g.config().waitTimeoutMillis() * 1_000_000L;
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
                    // releases wake us at once; with spill, tensors unpinned meanwhile are tried every tick
                    waitLock.wait(Math.max(1, Math.min(left / 1_000_000L, plan.tickMillis)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                } finally {
                    waiters--;
                }
            }
            for (Reclaimer x : plan.whileWaiting) {
                x.reclaim(r); // the reservation is tried at the top of the loop
            }
        }
        String within = " within memgov.wait.timeout=" + g.config().waitTimeoutMillis() + "ms";
        DiskFullException full = policy == OnLimit.SPILL && stats.diskFulls() != diskFullsBefore ? lastDiskFull : null;
        if (full != null) {
            throw fail(budget, tier, bytes, policy, diskFullReason(full) + " and nothing was released" + within,
                    diskFullFix(full));
        }
        throw fail(budget, tier, bytes, policy, plan.nothingFreed + within);
    }

    /** A spill was refused for want of disk: a request that then fails names the disk. */
    void diskFull(DiskFullException e) {
        lastDiskFull = e;
        g.stats().diskFull();
    }

    /** Memory was given back: allocations waiting for it try again (nothing to do while none waits). */
    void signalReleased() {
        if (waiters > 0) {
            synchronized (waitLock) {
                waitLock.notifyAll();
            }
        }
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
        g.stats().failure();
        String tierName = budget.name().toUpperCase(java.util.Locale.ROOT);
        String msg = "memgov: " + tierName + " limit reached: requested " + bytes + " bytes ("
                + Values.formatBytes(bytes) + "), " + tierName + " holds " + budget.used() + " bytes ("
                + Values.formatBytes(budget.used()) + ") of its limit of " + budget.limit() + " bytes ("
                + Values.formatBytes(budget.limit()) + "); on-limit=" + policy.configName()
                + (why == null ? "" : ": " + why) + ". "
                + (fix != null ? fix : "Raise memgov." + Tier.values()[tier].key() + ".limit, close arrays that are no longer needed"
                + (policy == OnLimit.FAIL ? ", or set memgov.on-limit=spill or wait" : ""));
        if (limitLogDue(2 * tier + 1)) {
            g.log().emit(LogLevel.ERROR, "limit", "tier", Tier.values()[tier].key(), "requested", bytes, "used", budget.used(),
                    "limit", budget.limit(), "action", "fail", "not.logged", limitsNotLogged[2 * tier + 1].getAndSet(0),
                    "message", msg);
        }
        g.metrics().limitReached(Tier.values()[tier].key(), bytes, budget.used(), budget.limit(), "fail");
        return new MemgovOutOfMemoryError(msg);
    }

    /** A {@code limit} event, at most one a second per tier (with how many were not logged). */
    private void logLimit(Budget budget, int tier, long bytes, OnLimit policy) {
        g.metrics().limitReached(Tier.values()[tier].key(), bytes, budget.used(), budget.limit(), policy.configName());
        if (limitLogDue(2 * tier)) {
            g.log().emit(LogLevel.INFO, "limit", "tier", Tier.values()[tier].key(), "requested", bytes, "used", budget.used(),
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
}
