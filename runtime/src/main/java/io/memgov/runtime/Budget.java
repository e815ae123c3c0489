package io.memgov.runtime;

import java.util.concurrent.atomic.AtomicLongFieldUpdater;

/**
 * Used, peak and limit of one tier (or one device, or one framework's share of a tier). Lock-free
 * and exact under concurrency: a reservation either succeeds whole or changes nothing (the Arrow
 * {@code Accountant} model), and the peak is the maximum {@code used} ever committed.
 *
 * <p>A budget may have a parent (Arrow's child accountant): whatever is reserved, forced or released
 * on it is also reserved, forced or released on its parent, and so on up, so a chain such as
 * {@code host.nd4j.workspace -> host.nd4j} is kept in one call. A {@link #tryReserve} that the parent
 * refuses is rolled back on the child: the chain changes whole or not at all. Without a parent each
 * operation costs what it did before parents existed: one CAS or add, and a null check.
 */
public final class Budget {
    public static final long NONE = -1L;

    private static final AtomicLongFieldUpdater<Budget> USED = AtomicLongFieldUpdater.newUpdater(Budget.class, "used");
    private static final AtomicLongFieldUpdater<Budget> PEAK = AtomicLongFieldUpdater.newUpdater(Budget.class, "peak");

    private final String name;
    /** The budget whose bytes include this one's, or null. */
    private final Budget parent;
    private volatile long used;
    private volatile long peak;
    private volatile long limit;

    public Budget(String name, long limit) {
        this(name, limit, null);
    }

    /** A budget whose bytes also count on {@code parent} (null: none). */
    public Budget(String name, long limit, Budget parent) {
        this.name = name;
        this.limit = limit < 0 ? NONE : limit;
        this.parent = parent;
    }

    public String name() { return name; }
    public long used() { return used; }
    public long peak() { return peak; }
    public long limit() { return limit; }
    /** The budget this one's bytes also count on, or null. */
    public Budget parent() { return parent; }

    /** Sets this budget's own limit (its parent's stays as it is). */
    public void setLimit(long limit) { this.limit = limit < 0 ? NONE : limit; }

    /** Resets this budget's own peak to its current use. */
    public void resetPeak() { PEAK.set(this, used); }

    /**
     * Reserves {@code bytes} if that keeps this budget and every parent at or under its limit.
     * @return false, changing nothing (on this budget or any parent), when the reservation would exceed a limit
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
                Budget p = parent;
                if (p != null && !p.tryReserve(bytes)) {
                    USED.addAndGet(this, -bytes); // the parent is full: roll back (the peak was not raised)
                    return false;
                }
                raisePeak(next);
                return true;
            }
        }
    }

    /** Reserves {@code bytes} here and on every parent whatever the limits (memory that already exists must be counted). */
    public void forceReserve(long bytes) {
        for (Budget b = this; b != null; b = b.parent) {
            b.raisePeak(USED.addAndGet(b, bytes));
        }
    }

    /** Gives back {@code bytes} here and on every parent. */
    public void release(long bytes) {
        for (Budget b = this; b != null; b = b.parent) {
            USED.addAndGet(b, -bytes);
        }
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
