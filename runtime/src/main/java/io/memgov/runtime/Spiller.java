package io.memgov.runtime;

import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.spill.DiskFullException;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillException;
import io.memgov.runtime.spill.SpillFile;

import java.util.ArrayList;
import java.util.List;

/**
 * Moves cold storages out of a tier that met its limit: HOST→DISK (a spill, through the framework's
 * {@link SpillBridge} into the {@link io.memgov.runtime.spill.SpillStore}) and DEVICE→HOST (an
 * offload). Victims are the least recently used storages that are resident, unpinned, single-owner
 * and spillable; their way back is the {@link Restorer}'s.
 */
final class Spiller {
    private static final int MAX_DISK_ERRORS_LOGGED = 10;

    private final MemoryGovernor g;

    Spiller(MemoryGovernor g) {
        this.g = g;
    }

    /** Frees {@code tier} down to {@code targetUsed} bytes by spilling the least recently used tensors. */
    void spill(int tier, int device, long targetUsed) {
        boolean offload = tier == Tier.DEVICE.ordinal();
        Budget budget = g.budget(tier, device);
        SpillBridge[] bridges = g.spillBridges();
        List<Tracked> candidates = new ArrayList<>();
        g.ledger().forEach(t -> {
            if (t.state == Tracked.RESIDENT && !t.inUse() && t.tensor != null
                    && t.tier == tier && (!offload || t.device == device) && bridges[t.framework] != null) {
                candidates.add(t);
            }
        });
        candidates.sort((x, y) -> Integer.compare(x.lastAccess, y.lastAccess));
        HostPool pool = g.hostPool();
        for (Tracked victim : candidates) {
            // a spilled buffer's memory may go to the pool (where it still counts on HOST): it is as
            // good as free, and the caller trims what it needs
            if (budget.used() - (offload || pool == null ? 0 : pool.buffers().idleBytes()) <= targetUsed) {
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
        Budget host = g.host();
        long t0 = System.nanoTime();
        boolean moved = false;
        try {
            if (!host.tryReserve(victim.bytes)) {
                g.admission().admit(host, Tier.HOST.ordinal(), 0, victim.bytes);
            }
        } catch (MemgovOutOfMemoryError noRoom) {
            victim.state = Tracked.RESIDENT; // HOST has no room either: the tensor stays on its device
            return false;
        }
        try {
            moved = !victim.inUse() && g.spillBridges()[victim.framework].offload(victim.tensor, victim);
        } catch (Throwable t) {
            g.error("offloading tensor " + victim.id + " to host failed; it stays on its device", t);
        }
        if (!moved) {
            host.release(victim.bytes);
            victim.state = Tracked.RESIDENT;
            g.admission().signalReleased();
            return false;
        }
        g.device(victim.device).release(victim.bytes);
        g.host(victim.framework).forceReserve(victim.bytes);
        victim.state = Tracked.OFFLOADED;
        long micros = (System.nanoTime() - t0) / 1000;
        g.stats().offloaded(victim.bytes);
        g.metrics().spilled(victim.id, victim.bytes, "device." + victim.device, "host", micros);
        g.log().emit(LogLevel.DEBUG, "spill", "id", victim.id, "bytes", victim.bytes, "from", "device." + victim.device,
                "to", "host", "micros", micros);
        g.admission().signalReleased();
        return true;
    }

    private boolean spillOne(Tracked victim) {
        if (!Tracked.STATE.compareAndSet(victim, Tracked.RESIDENT, Tracked.SPILLING)) {
            return false;
        }
        SpillFile file = null;
        SpillFile clean = victim.spillFile; // the file of its last spill, kept since its restore (or null)
        g.background().checkHeapIfDue();
        long t0 = System.nanoTime();
        try {
            // chosen resident, unpinned and single-owner: a use or a view since then keeps it here
            if (!victim.inUse()) {
                file = g.spillBridges()[victim.framework].spill(victim.tensor, victim, victim.id, g.spillStore());
            }
        } catch (SpillException e) {
            // a full disk or an I/O error: nothing was lost, the tensor stays resident
            if (e instanceof DiskFullException) {
                g.admission().diskFull((DiskFullException) e);
            }
            if (g.stats().diskFailure() <= MAX_DISK_ERRORS_LOGGED) {
                g.error(e.getMessage(), null);
            }
        } catch (Throwable t) {
            g.error("spilling tensor " + victim.id + " failed; it stays in memory", t);
        }
        if (file == null) {
            victim.state = Tracked.RESIDENT;
            return false;
        }
        victim.spillFile = file;
        g.host().release(victim.bytes);
        g.host(victim.framework).release(victim.bytes);
        Prefetcher prefetcher = g.prefetcher();
        if (victim.lastAccess == Governor.PREFETCHED && prefetcher != null) {
            prefetcher.wasted.incrementAndGet(); // fetched ahead and spilled again before any use
        }
        victim.state = Tracked.SPILLED;
        g.background().nativeFreed(victim.bytes);
        long micros = (System.nanoTime() - t0) / 1000;
        boolean reused = file == clean;
        g.stats().spilled(victim.bytes, micros, reused);
        g.metrics().spilled(victim.id, victim.bytes, "host", "disk", micros);
        g.log().emit(LogLevel.DEBUG, "spill", "id", victim.id, "bytes", victim.bytes, "from", "host", "to", "disk",
                "micros", micros, "file", file.path(), "clean", reused);
        return true;
    }
}
