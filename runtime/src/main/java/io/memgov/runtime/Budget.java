package io.memgov.runtime;

import java.util.concurrent.atomic.AtomicLongFieldUpdater;

/**
 * Used, peak and limit of one tier (or one device). Lock-free and exact under concurrency: a
 * reservation either succeeds whole or changes nothing (the Arrow {@code Accountant} model), and
 * the peak is the maximum {@code used} ever committed.
 */
public final class Budget {
    public static final long NONE = -1L;

    private static final AtomicLongFieldUpdater<Budget> USED = AtomicLongFieldUpdater.newUpdater(Budget.class, "used");
    private static final AtomicLongFieldUpdater<Budget> PEAK = AtomicLongFieldUpdater.newUpdater(Budget.class, "peak");

    private final String name;
    private volatile long used;
    private volatile long peak;
    private volatile long limit;

    public Budget(String name, long limit) {
        this.name = name;
        this.limit = limit < 0 ? NONE : limit;
    }

    public String name() { return name; }
    public long used() { return used; }
    public long peak() { return peak; }
    public long limit() { return limit; }

    public void setLimit(long limit) { this.limit = limit < 0 ? NONE : limit; }

    /** Resets the peak to the current use. */
    public void resetPeak() { PEAK.set(this, used); }

    /**
     * Reserves {@code bytes} if that keeps the tier at or under its limit.
     * @return false, changing nothing, when the reservation would exceed the limit
     */
    public boolean tryReserve(long bytes) {
        for (;;) {
            long u = used;
            long next = u + bytes;
            long lim = limit;
            if (lim >= 0 && next > lim && bytes > 0) {
                return false;
            }
            if (USED.compareAndSet(this, u, next)) {
                raisePeak(next);
                return true;
            }
        }
    }

    /** Reserves {@code bytes} whatever the limit (memory that already exists must be counted). */
    public void forceReserve(long bytes) {
        raisePeak(USED.addAndGet(this, bytes));
    }

    public void release(long bytes) {
        USED.addAndGet(this, -bytes);
    }

    private void raisePeak(long value) {
        long p;
        while (value > (p = peak)) {
            if (PEAK.compareAndSet(this, p, value)) {
                return;
            }
        }
    }

    @Override
    public String toString() {
        return name + "{used=" + used + ", peak=" + peak + ", limit=" + limit + "}";
    }
}
