package io.memgov.runtime;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * The governor's record of one framework array. An array that owns its storage is its own
 * {@link #storage()}; a view points at the record that owns the storage it shares, and the storage
 * is uncounted when the last array over it is released. Kept small: it exists once per live array.
 */
public final class Tracked {
    static final AtomicIntegerFieldUpdater<Tracked> RELEASED =
            AtomicIntegerFieldUpdater.newUpdater(Tracked.class, "released");
    static final AtomicIntegerFieldUpdater<Tracked> REFS =
            AtomicIntegerFieldUpdater.newUpdater(Tracked.class, "refs");
    static final AtomicIntegerFieldUpdater<Tracked> STATE =
            AtomicIntegerFieldUpdater.newUpdater(Tracked.class, "state");
    static final AtomicIntegerFieldUpdater<Tracked> PINS =
            AtomicIntegerFieldUpdater.newUpdater(Tracked.class, "pins");

    final long id;
    final long bytes;
    final Tracked storage;
    final byte framework;
    final byte tier;
    final short device;
    /** arrays alive over this storage (only meaningful on the storage owner). */
    volatile int refs;
    /** 1 once this array has been released. */
    volatile int released;
    /** RESIDENT, SPILLING, SPILLED, RESTORING, then FREED once the last array over the storage went. */
    volatile int state;
    /** Native calls in flight that use the storage: it is not spilled while any are. */
    volatile int pins;
    /** The framework object a spill bridge spills and restores (set only where a bridge can). */
    Object tensor;
    /** The pooled buffer the storage lives in, given back to the pool when the storage goes (owners only; set rarely, read once at release). */
    volatile PoolLease pooled;
    /** When the current restore began (System.nanoTime), for its latency. */
    long restoreStarted;
    /** The spill file while SPILLED. */
    volatile io.memgov.runtime.spill.SpillFile spillFile;
    /** Last use, in milliseconds since the governor started (creation until access hooks exist). */
    int lastAccess;
    /** Place in the ledger, guarded by the ledger stripe's lock (storage owners only); -1 when not in it. */
    int slot = -1;
    byte stripe;
    /**
     * Allocation site id ({@link Sites}; {@link Sites#UNSAMPLED} when no stack was walked). A short (ids
     * stay under {@link Sites#MAX}): with it the record keeps the 80 bytes it had without sites (an int
     * made it 88).
     */
    short site;
    /**
     * How many allocations this one stands for in the site figures: 1/p, p the chance it was sampled
     * ({@link Metrics}: by bytes, 1 - exp(-bytes/N)); its estimated bytes are {@code bytes * sampleScale}.
     * 0 while no site is recorded. A float fills the 4 bytes the record had free after its last field:
     * the record stays 88 bytes.
     */
    float sampleScale;

    private static final Tier[] TIERS = Tier.values();
    public static final int RESIDENT = 0;
    public static final int FREED = 1;
    public static final int SPILLING = 2;
    public static final int SPILLED = 3;
    public static final int RESTORING = 4;
    /** A DEVICE storage whose bytes were moved to HOST (offloaded); it comes back on its next use. */
    public static final int OFFLOADED = 5;

    /** A storage owner; {@code tier} is a {@link Tier} ordinal. */
    Tracked(long id, long bytes, int framework, int tier, int device) {
        this.id = id;
        this.bytes = bytes;
        this.storage = this;
        this.framework = (byte) framework;
        this.tier = (byte) tier;
        this.device = (short) device;
        REFS.lazySet(this, 1); // not yet published: no fence needed
    }

    /** A view over {@code owner}'s storage. */
    Tracked(long id, Tracked owner) {
        this.id = id;
        this.bytes = 0;
        this.storage = owner;
        this.framework = owner.framework;
        this.tier = owner.tier;
        this.device = owner.device;
    }

    /**
     * This storage (an owner) may not be spilled now: a native call uses it, or more than one array
     * is over it. Pins are read first: a view's ref is added inside a native call, before its pin goes.
     */
    boolean inUse() {
        return pins > 0 || refs != 1;
    }

    /** One more array over this storage (an owner); false when the storage is already gone. */
    boolean addRef() {
        for (;;) {
            int r = refs;
            if (r <= 0) {
                return false;
            }
            if (REFS.compareAndSet(this, r, r + 1)) {
                return true;
            }
        }
    }

    /**
     * Marks this array released; returns its storage when it was the storage's last array, else null
     * (also when this array was already released: a release is idempotent).
     */
    Tracked releaseArray() {
        if (!RELEASED.compareAndSet(this, 0, 1)) {
            return null;
        }
        Tracked owner = storage;
        return REFS.decrementAndGet(owner) == 0 ? owner : null;
    }

    public long id() { return id; }
    /** Bytes of the storage this array is over. */
    public long storageBytes() { return storage.bytes; }
    public boolean isView() { return storage != this; }
    public Tracked storage() { return storage; }
    public int framework() { return framework; }
    public Tier tier() { return TIERS[tier]; }
    public int device() { return device; }
    public boolean isReleased() { return released != 0; }
    /** The storage's state ({@link #RESIDENT}, {@link #SPILLING}, {@link #SPILLED}, {@link #RESTORING}, {@link #FREED}). */
    public int state() { return storage.state; }
    public long bytes() { return storage.bytes; }
    public int lastAccessMillis() { return storage.lastAccess; }
    /** The site id of the storage ({@link Sites}). */
    public int site() { return storage.site; }
    /** Allocations this storage stands for in the site figures (0: no site recorded). */
    public float sampleScale() { return storage.sampleScale; }
}
