package io.memgov.runtime;

import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillException;
import io.memgov.runtime.spill.SpillFile;

/**
 * Brings spilled and offloaded storages back: on demand (a framework helper's
 * {@link #begin}/{@link #read}/{@link #end} around its bridge's restore) and ahead of use (the
 * {@link Prefetcher}'s {@link #prefetch}, into headroom only, with the hand-off of an idle pooled
 * buffer to the restore it runs). Restore failures are logged once per spill file.
 */
final class Restorer {
    private final MemoryGovernor g;

    Restorer(MemoryGovernor g) {
        this.g = g;
    }

    /**
     * The spilled storage {@code t} is about to be used. True when the caller must restore it (its
     * bytes are admitted on its home tier); false when it is resident again (another thread restored
     * it, or a spill was given up) or gone.
     *
     * @throws MemgovOutOfMemoryError when its bytes cannot be admitted back
     */
    boolean begin(Tracked t) {
        Prefetcher prefetcher = g.prefetcher();
        int from;
        boolean waited = false;
        for (;;) {
            from = t.state;
            if (from == Tracked.SPILLED || from == Tracked.OFFLOADED) {
                if (Tracked.STATE.compareAndSet(t, from, Tracked.RESTORING)) {
                    break;
                }
            } else if (from == Tracked.SPILLING || from == Tracked.RESTORING) {
                if (!waited && from == Tracked.RESTORING && prefetcher != null && prefetcher.inFlight == t) {
                    waited = true;
                    prefetcher.waited.incrementAndGet(); // its prefetch is reading it: wait, do not read twice
                }
                Thread.onSpinWait();
                Thread.yield();
            } else {
                return false;
            }
        }
        // a spilled storage comes back to HOST; an offloaded one to its device
        Budget home = from == Tracked.OFFLOADED ? g.device(t.device) : g.host();
        int homeTier = from == Tracked.OFFLOADED ? Tier.DEVICE.ordinal() : Tier.HOST.ordinal();
        HostPool pool = g.hostPool();
        try {
            if (!home.tryReserve(t.bytes)) {
                SpillBridge bridge = g.spillBridges()[t.framework];
                // a victim's pooled entry of the class this restore takes comes straight to it
                boolean wants = from == Tracked.SPILLED && bridge != null && pool != null
                        && pool.want(bridge.restorePoolKind(), t.bytes);
                try {
                    g.admission().admit(home, homeTier, t.device, t.bytes);
                } finally {
                    if (wants) {
                        pool.unwant();
                    }
                }
            }
        } catch (Throwable e) {
            t.state = from;
            if (pool != null) {
                pool.returnHanded(g.nowMillis);
            }
            throw e;
        }
        if (from == Tracked.SPILLED) {
            g.host(t.framework).forceReserve(t.bytes);
            if (prefetcher != null) {
                prefetcher.miss(t);
            }
        }
        t.restoreStarted = System.nanoTime();
        return true;
    }

    /** Reads the spilled bytes of {@code t} into {@code target}, verified (see {@link io.memgov.runtime.spill.SpillStore#readInto}). */
    void read(Tracked t, java.nio.ByteBuffer target) throws SpillException {
        SpillFile file = t.spillFile;
        try {
            g.spillStore().readInto(file, target);
        } catch (SpillException e) {
            failed(t, file, e);
            throw e;
        }
    }

    /**
     * A spill file could not be read back (corrupt, missing, unreadable): the application gets the
     * exception from the tensor's use; the log gets one {@code error} event per file.
     */
    private void failed(Tracked t, SpillFile file, SpillException e) {
        if (file == null || !g.spillStore().holds(file) || t.state == Tracked.FREED) {
            return; // the tensor was released meanwhile (a prefetch racing close): its file went with it
        }
        if (!file.firstFailure()) {
            return;
        }
        StackTraceElement[] st = e.getStackTrace();
        g.log().emit(LogLevel.ERROR, "error", "message", e.getMessage(), "exception", String.valueOf(e),
                "at", st.length > 0 ? st[0].toString() : "", "id", t.id, "bytes", t.bytes,
                "file", file == null ? "" : String.valueOf(file.path()));
    }

    /** Ends a restore: {@code ok}, the storage is resident again and its file kept clean; else it stays spilled. */
    void end(Tracked t, boolean ok) {
        if (t.spillFile == null) { // an offloaded DEVICE storage (a spilled one always has its file)
            endOffload(t, ok);
            return;
        }
        HostPool pool = g.hostPool();
        if (pool != null) {
            pool.returnHanded(g.nowMillis); // handed to this restore and not taken (a restore that did not pool)
        }
        if (!ok) {
            g.releaseHost(t);
            t.state = Tracked.SPILLED;
            g.admission().signalReleased();
            return;
        }
        // the file stays, a clean copy: spilling the storage again while its bytes are unchanged writes nothing
        g.spillStore().retain(t.spillFile);
        long micros = (System.nanoTime() - t.restoreStarted) / 1000;
        Prefetcher prefetcher = g.prefetcher();
        if (prefetcher != null && prefetcher.inFlight == t) {
            t.lastAccess = Governor.PREFETCHED;
            t.state = Tracked.RESIDENT;
            prefetcher.prefetches.incrementAndGet();
            prefetcher.prefetchBytes.addAndGet(t.bytes);
            g.log().emit(LogLevel.DEBUG, "prefetch", "id", t.id, "bytes", t.bytes, "from", "disk", "to", "host",
                    "micros", micros);
            return;
        }
        t.lastAccess = g.nowMillis - Governor.PROBATION_MILLIS;
        t.state = Tracked.RESIDENT;
        g.background().checkHeapIfDue(); // after the restore's allocation: what it did not reuse shows now
        g.stats().restored(t.bytes, micros);
        g.metrics().restored(t.id, t.bytes, "disk", "host", micros);
        g.log().emit(LogLevel.DEBUG, "restore", "id", t.id, "bytes", t.bytes, "from", "disk", "to", "host",
                "micros", micros);
    }

    private void endOffload(Tracked t, boolean ok) {
        if (!ok) {
            g.device(t.device).release(t.bytes);
            t.state = Tracked.OFFLOADED;
            g.admission().signalReleased();
            return;
        }
        g.releaseHost(t);
        t.lastAccess = g.nowMillis;
        t.state = Tracked.RESIDENT;
        long micros = (System.nanoTime() - t.restoreStarted) / 1000;
        g.stats().restored(t.bytes, micros);
        g.metrics().restored(t.id, t.bytes, "host", "device." + t.device, micros);
        g.log().emit(LogLevel.DEBUG, "restore", "id", t.id, "bytes", t.bytes, "from", "host", "to", "device." + t.device,
                "micros", micros);
        g.admission().signalReleased();
    }

    /**
     * The first use of a storage restored ahead of use: a hit. From here it is as if restored now (on
     * probation), and its successors are fetched.
     */
    void prefetchHit(Tracked s, int now) {
        s.lastAccess = now - Governor.PROBATION_MILLIS;
        Prefetcher p = g.prefetcher();
        if (p != null) {
            p.hits.incrementAndGet();
            p.miss(s);
        }
    }

    /**
     * The prefetch thread: restores spilled storage {@code t} into headroom under the HOST limit
     * (nothing is spilled for it). False when it does not fit (the caller stops following links);
     * true otherwise, whether or not it was restored.
     */
    boolean prefetch(Tracked t) {
        SpillBridge bridge = g.spillBridges()[t.framework];
        Object tensor = t.tensor;
        if (bridge == null || tensor == null) {
            return true;
        }
        Budget host = g.host();
        HostPool pool = g.hostPool();
        // headroom: free bytes under the limit, or idle pooled ones (they count on HOST): an idle entry
        // of the class the bridge's restore takes is handed to it, any other is dropped for it
        PoolLease handed = null;
        if (!host.tryReserve(t.bytes)) {
            handed = pool == null ? null : pool.handOff(bridge.restorePoolKind(), t.bytes, g.nowMillis);
            if (handed == null && !(pool != null && pool.trim(t.bytes) > 0 && host.tryReserve(t.bytes))) {
                return false;
            }
        }
        if (!Tracked.STATE.compareAndSet(t, Tracked.SPILLED, Tracked.RESTORING)) {
            host.release(t.bytes);
            returnHandOff(pool, handed);
            return true;
        }
        g.host(t.framework).forceReserve(t.bytes);
        t.restoreStarted = System.nanoTime();
        Prefetcher prefetcher = g.prefetcher();
        prefetcher.inFlight = t;
        boolean ran = false;
        try {
            ran = bridge.restoreAhead(tensor, t); // true: it ended the restore (endRestore), well or not
        } catch (Throwable e) {
            ran = true; // a bridge throws only from its restore, which ends itself
            g.log().emit(LogLevel.DEBUG, "prefetch-failed", "id", t.id, "message", String.valueOf(e));
        } finally {
            if (!ran) {
                end(t, false);
            }
            prefetcher.inFlight = null;
            returnHandOff(pool, handed);
        }
        return true;
    }

    private void returnHandOff(HostPool pool, PoolLease handed) {
        if (handed != null) {
            pool.returnHandOff(handed, g.nowMillis);
        }
    }
}
