package io.memgov.runtime;

import io.memgov.runtime.pool.BufferPool;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillException;

/**
 * The static hooks the framework helpers (defined by the agent inside each framework's class loader)
 * and the agent's bytecode rewrites call. They take and return primitives and {@code Object}, so the
 * helpers need nothing but these bootstrap classes; their names and descriptors are the agent's ABI.
 *
 * <p>Each hook reads the installed {@link MemoryGovernor} once and hands the call to it; with none
 * installed (before the agent installs one, after {@link MemoryGovernor#close}) it answers as
 * ungoverned: null records, false, nothing counted. Hooks that only read or mark a record (pins,
 * the tensor kept for spilling, its state) work on the record alone.
 */
public final class Governor {
    public static final int FW_DJL = 0;
    public static final int FW_ND4J = 1;
    /** ND4J workspace blocks: counted under nd4j, and on their own. */
    public static final int FW_ND4J_WORKSPACE = 2;
    /** Names in the log ({@code host.used.NAME}). */
    static final String[] FRAMEWORKS = {"djl", "nd4j", "nd4j.workspace"};
    /** The framework a sub-framework's bytes also count under (its HOST budget's parent), or -1; parents come first. */
    static final int[] FRAMEWORK_PARENTS = {-1, -1, FW_ND4J};
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
    /** A pooled entry idle this long is freed. */
    static final int POOL_IDLE_MILLIS = 5000;
    static final int MAX_ADVICE_ERRORS_LOGGED = 10;

    /** The installed governor, or null while the agent is not governing. */
    private static volatile MemoryGovernor current;

    private Governor() {
    }

    // ---------------------------------------------------------------- installation

    /** Makes {@code g} the governor the framework helpers report to (null: none). */
    public static synchronized void install(MemoryGovernor g) {
        current = g;
    }

    /** {@code g} closed: when it is the installed governor, none is from now on. */
    static synchronized void uninstall(MemoryGovernor g) {
        if (current == g) {
            current = null;
        }
    }

    public static MemoryGovernor current() {
        return current;
    }

    // ---------------------------------------------------------------- allocation and release

    /**
     * Counts a new storage of {@code bytes} on {@code tier} (a {@link Tier} ordinal; device is the
     * GPU index for DEVICE), admitting it under the tier's limit per {@code memgov.on-limit}.
     * Returns the record the helper keeps on the array, or null when nothing is governed.
     *
     * @throws MemgovOutOfMemoryError when the bytes cannot be admitted; nothing was counted
     */
    public static Object allocate(int framework, int tier, int device, long bytes) {
        MemoryGovernor g = current;
        return g == null ? null : g.allocate(framework, tier, device, bytes);
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
        MemoryGovernor g = current;
        return g == null ? null : g.reserve(framework, tier, device, bytes);
    }

    /** The reserved storage exists: it is counted from now on. Returns its record. */
    public static Object commit(Object reservation) {
        if (!(reservation instanceof Tracked)) {
            return null;
        }
        MemoryGovernor g = current;
        if (g != null) {
            g.commit((Tracked) reservation);
        }
        return reservation;
    }

    /** The reserved allocation did not happen: its bytes are given back. */
    public static void cancel(Object reservation) {
        MemoryGovernor g = current;
        if (g != null && reservation instanceof Tracked) {
            g.cancel((Tracked) reservation);
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
        if (!owner.addRef()) {
            return null; // the storage is already gone: nothing left to count
        }
        MemoryGovernor g = current;
        return new Tracked(g == null ? 0 : g.nextId(), owner);
    }

    /** The array behind {@code record} is gone. Idempotent: a second release of one array does nothing. */
    public static void release(Object record) {
        if (record instanceof Tracked) {
            Tracked owner = ((Tracked) record).releaseArray();
            MemoryGovernor g;
            if (owner != null && (g = current) != null) {
                g.released(owner);
            }
        }
    }

    /**
     * The array behind {@code record} was freed by the garbage collector without having been closed:
     * a {@code leak} event (rate-limited, see {@link Metrics#leak}). The caller then releases it.
     */
    public static void leaked(Object record) {
        MemoryGovernor g = current;
        if (g != null && record instanceof Tracked) {
            g.leaked((Tracked) record);
        }
    }

    /**
     * The framework array about to be created on this thread over native {@code handle} shares the
     * storage of {@code parent} (a record, or null when the parent is not tracked: then the view counts
     * nothing). Consumed by the next {@link #takeView} on this thread.
     */
    public static void expectView(long handle, Object parent) {
        Handoffs.expectView(handle, parent);
    }

    /**
     * Called as each framework array is created over {@code handle}: the parent to {@link #share}
     * when a view of it was announced on this thread for this handle, else null. Any announcement is
     * consumed, so a stale one (its constructor threw) never leaks into a later array.
     */
    public static Object takeView(long handle) {
        return Handoffs.takeView(handle);
    }

    /**
     * A framework's decoder allocated {@code buffer} to read a tensor into, and hands it to the
     * tensor it creates next on this thread, keeping no other reference: see {@link #takeOwned}.
     */
    public static void owned(Object buffer) {
        Handoffs.owned(buffer);
    }

    /** True (once) when {@code buffer} is the one this thread's last {@link #owned} call announced. */
    public static boolean takeOwned(Object buffer) {
        return Handoffs.takeOwned(buffer);
    }

    /** Advice hit a Throwable: logged (the first few), never thrown into the application. */
    public static void adviceError(String where, Throwable t) {
        MemoryGovernor g = current;
        if (g != null) {
            g.adviceError(where, t);
        }
    }

    // ---------------------------------------------------------------- use: touch and pins

    /**
     * The storage was used: it is the last to be spilled. A storage restored in this clock tick stays
     * on probation (see {@link #PROBATION_MILLIS}): the use that brought it back does not count.
     */
    public static void touch(Object record) {
        MemoryGovernor g = current;
        if (g != null && record instanceof Tracked) {
            g.touch(((Tracked) record).storage);
        }
    }

    /** A native call is about to use the storage: it is not spilled until {@link #unpin}. */
    public static void pin(Object record) {
        if (record instanceof Tracked) {
            Tracked.PINS.incrementAndGet(((Tracked) record).storage);
        }
    }

    public static void unpin(Object record) {
        if (record instanceof Tracked) {
            Tracked.PINS.decrementAndGet(((Tracked) record).storage);
        }
    }

    /** True while a native call uses the storage behind {@code record}. */
    public static boolean pinned(Object record) {
        return record instanceof Tracked && ((Tracked) record).storage.pins > 0;
    }

    /**
     * True when the storage behind {@code record} may not be spilled now: a native call uses it
     * ({@link #pinned}), or another array shares it (a view made after the spiller chose it: the view
     * would go on reading and writing the memory the spill frees). A bridge checks it after making the
     * tensor unreachable for new uses: a view is made inside a native call, under a pin, so once no pin
     * is seen every view made so far is counted.
     */
    public static boolean inUse(Object record) {
        return record instanceof Tracked && ((Tracked) record).storage.inUse();
    }

    // ---------------------------------------------------------------- spill and restore

    /** True when memgov spills over the HOST limit: a limit is set and on-limit is spill. */
    public static boolean spillMode() {
        MemoryGovernor g = current;
        return g != null && g.spillMode();
    }

    /** {@code framework}'s arrays may be spilled through {@code bridge}. */
    public static void registerSpillBridge(int framework, SpillBridge bridge) {
        MemoryGovernor g = current;
        if (g != null) {
            g.registerSpillBridge(framework, bridge);
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

    /**
     * The spilled storage behind {@code record} is about to be used. Returns true when the caller must
     * restore it (HOST bytes are admitted for it: the caller then calls {@link #readSpill} and
     * {@link #endRestore}); false when it is resident again (another thread restored it, or a spill
     * was given up) or gone.
     *
     * @throws MemgovOutOfMemoryError when its bytes cannot be admitted back into HOST
     */
    public static boolean beginRestore(Object record) {
        MemoryGovernor g = current;
        return g != null && record instanceof Tracked && g.beginRestore(((Tracked) record).storage);
    }

    /** Reads the spilled bytes of {@code record} into {@code target}, verified (see {@link io.memgov.runtime.spill.SpillStore#readInto}). */
    public static void readSpill(Object record, java.nio.ByteBuffer target) throws SpillException {
        current.readSpill(((Tracked) record).storage, target);
    }

    /** Ends a restore: {@code ok}, the storage is resident again and its file gone; else it stays spilled. */
    public static void endRestore(Object record, boolean ok) {
        current.endRestore(((Tracked) record).storage, ok);
    }

    // ---------------------------------------------------------------- buffer pool

    /**
     * Asks the governor's thread to run a GC soon (at most one each 20 ms): arrays a framework
     * releases only through the GC (ND4J's dropped without close()) come back to the pool.
     */
    public static void requestGc() {
        MemoryGovernor g = current;
        if (g != null) {
            g.background().requestGc();
        }
    }

    /** True when released buffers are pooled (memgov.pool.enabled and a governor installed). */
    public static boolean poolEnabled() {
        MemoryGovernor g = current;
        return g != null && g.hostPool() != null;
    }

    /**
     * Registers another kind of pooled entry (e.g. a framework's native allocations), freed by
     * {@code freer} when the pool drops one. Returns the kind for {@link #poolTake}/{@link #poolAttach},
     * or -1 when pooling is off.
     */
    public static int poolKind(BufferPool.Freer freer) {
        MemoryGovernor g = current;
        BufferPool pool = g == null ? null : g.pool();
        return pool == null ? -1 : pool.register(freer);
    }

    /**
     * An idle pooled entry of {@code kind} (e.g. {@link #POOL_DIRECT}) and class {@code classSize}
     * ({@link BufferPool#classSize}), or null on a miss (the caller allocates {@code classSize} bytes)
     * or when pooling is off. Its bytes leave the pool's share of the HOST tier.
     */
    public static Object poolTake(int kind, long classSize) {
        MemoryGovernor g = current;
        return g == null ? null : g.poolTake(kind, classSize);
    }

    /**
     * The storage behind {@code record} lives in {@code entry} (of {@code kind}, class
     * {@code classSize}): once the last array over that storage is released, the entry goes back to
     * the pool. False when it could not be attached (no governor, pooling off, not a live storage, or
     * one already attached): the caller leaves the entry to the GC.
     */
    public static boolean poolAttach(Object record, int kind, Object entry, long classSize) {
        MemoryGovernor g = current;
        return g != null && record instanceof Tracked && g.poolAttach((Tracked) record, kind, entry, classSize);
    }

    /**
     * The storage behind {@code record} no longer lives in the pooled entry attached to it (a spill
     * moved its bytes to disk, and its restore gets memory of its own): the entry goes back to the
     * pool now, or is freed when the pool does not take it (as during a spill over the limit).
     */
    public static void poolRelease(Object record) {
        MemoryGovernor g = current;
        if (g != null && record instanceof Tracked) {
            g.poolRelease(((Tracked) record).storage);
        }
    }

    /** True when the storage behind {@code record} lives in a pooled entry. */
    public static boolean pooledStorage(Object record) {
        return record instanceof Tracked && ((Tracked) record).storage.pooled != null;
    }

    /** Offers an entry no storage uses back to the pool (freed when the pool does not take it). */
    public static void poolGive(int kind, Object entry, long classSize) {
        MemoryGovernor g = current;
        if (g != null) {
            g.poolGive(kind, entry, classSize);
        }
    }

    // ---------------------------------------------------------------- reporting

    /**
     * Logs a {@code report} now, labelled: a program (or a test) can mark a point of its run in the
     * log. Reached by name from any class loader; does nothing when no governor is installed.
     */
    public static void checkpoint(String label) {
        MemoryGovernor g = current;
        if (g != null) {
            g.checkpoint(label);
        }
    }
}
