package io.memgov.runtime;

import io.memgov.runtime.pool.BufferPool;

/**
 * The buffer pool's accounting on the HOST tier: idle pooled bytes count against HOST (within its
 * limit), so an entry entering the pool reserves its bytes there, and one leaving it (taken for an
 * allocation, or freed by a trim) gives them back. Trims wake allocations waiting for memory.
 */
final class HostPool {
    /** The idle pooled entry a prefetch took for its restore, until that restore's {@link #take} finds it. */
    private static final ThreadLocal<PoolLease> HANDED = new ThreadLocal<>();

    private final BufferPool buffers;
    private final Budget host;
    private final Admission admission;

    HostPool(BufferPool buffers, Budget host, Admission admission) {
        this.buffers = buffers;
        this.host = host;
        this.admission = admission;
    }

    BufferPool buffers() {
        return buffers;
    }

    /**
     * An idle entry of {@code kind} and class {@code classSize}, or null on a miss; its bytes leave the
     * pool's share of HOST. An entry a prefetch handed to this thread's restore ({@link #handOff}) comes first.
     */
    Object take(int kind, long classSize) {
        PoolLease handed = HANDED.get();
        if (handed != null && handed.kind == kind && handed.size == classSize) {
            HANDED.remove(); // a prefetch took it for this restore, its bytes already out of the pool's share
            return handed.entry;
        }
        Object e = buffers.take(kind, classSize);
        if (e != null) {
            host.release(classSize);
        }
        return e;
    }

    /**
     * The kind and class of pooled entry a demand restore on this thread is admitting memory for
     * ({@link #want}): an entry a spill gives back meanwhile (a victim's) goes to that restore
     * ({@link #HANDED}) instead of to the pool, where, over the limit, it would be freed and the
     * restore would allocate (and fault in) fresh memory for the same bytes.
     */
    private static final ThreadLocal<PoolLease> WANTED = new ThreadLocal<>();
    /** Threads with a {@link #WANTED} entry now: while 0, giving an entry back looks no further. */
    private static final java.util.concurrent.atomic.AtomicInteger WANTING = new java.util.concurrent.atomic.AtomicInteger();

    /** This thread's demand restore is about to admit {@code bytes} for a restore that takes {@code kind}. */
    boolean want(int kind, long bytes) {
        long size = BufferPool.classSize(bytes);
        if (kind < 0 || size <= 0) {
            return false;
        }
        WANTED.set(new PoolLease(kind, null, size));
        WANTING.incrementAndGet();
        return true;
    }

    /** ...and its admission is over (an entry handed meanwhile stays handed until the restore takes it). */
    void unwant() {
        WANTING.decrementAndGet();
        WANTED.remove();
    }

    /** An entry handed to this thread's restore and not taken by it goes back to the pool (or is freed). */
    void returnHanded(int nowMillis) {
        returnHandOff(HANDED.get(), nowMillis);
    }

    /** Offers an entry no storage uses back to the pool; freed when the pool does not take it. */
    void giveBack(PoolLease lease, int nowMillis) {
        if (WANTING.get() > 0 && HANDED.get() == null) {
            PoolLease want = WANTED.get();
            if (want != null && want.kind == lease.kind && want.size == lease.size) {
                WANTED.remove();
                HANDED.set(lease); // its bytes are out of every count, as a fresh allocation's are
                return;
            }
        }
        if (host.tryReserve(lease.size)) { // pooled bytes count against HOST, within its limit
            if (buffers.give(lease.kind, lease.entry, lease.size, nowMillis)) {
                return;
            }
            host.release(lease.size);
        }
        buffers.free(lease.kind, lease.entry, lease.size);
    }

    /** Frees idle pooled entries worth at least {@code bytes} (all if fewer); returns the bytes freed. */
    long trim(long bytes) {
        if (buffers.idleBytes() == 0 || bytes <= 0) {
            return 0;
        }
        return freed(buffers.trim(bytes));
    }

    /** Frees the entries idle longer than {@link Governor#POOL_IDLE_MILLIS}. */
    void trimIdle(int nowMillis) {
        freed(buffers.trimIdle(nowMillis, Governor.POOL_IDLE_MILLIS));
    }

    private long freed(long bytes) {
        if (bytes > 0) {
            host.release(bytes);
            admission.signalReleased();
        }
        return bytes;
    }

    /**
     * Takes an idle pooled entry of {@code kind} for {@code bytes} (its bytes leave the pool's share of
     * HOST) and reserves {@code bytes} in its place; the restore's {@link #take} of that class on this
     * thread gets it. Null (nothing changed) when there is none or the bytes still do not fit.
     */
    PoolLease handOff(int kind, long bytes, int nowMillis) {
        long size = BufferPool.classSize(bytes);
        if (kind < 0 || size <= 0 || buffers.idleBytes() < size) {
            return null;
        }
        Object entry = buffers.take(kind, size);
        if (entry == null) {
            return null;
        }
        host.release(size);
        if (!host.tryReserve(bytes)) {
            giveBack(new PoolLease(kind, entry, size), nowMillis);
            return null;
        }
        PoolLease lease = new PoolLease(kind, entry, size);
        HANDED.set(lease);
        return lease;
    }

    /** A handed entry the restore did not take goes back to the pool (or is freed). */
    void returnHandOff(PoolLease lease, int nowMillis) {
        if (lease != null && HANDED.get() == lease) {
            HANDED.remove();
            giveBack(lease, nowMillis);
        }
    }
}
