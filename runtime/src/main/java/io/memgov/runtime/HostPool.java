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

    /** Offers an entry no storage uses back to the pool; freed when the pool does not take it. */
    void giveBack(PoolLease lease, int nowMillis) {
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
