package org.nd4j.nativeblas;

import io.memgov.runtime.Governed;
import io.memgov.runtime.Governor;
import io.memgov.runtime.MemoryGovernor;
import io.memgov.runtime.MemgovOutOfMemoryError;
import io.memgov.runtime.Pins;
import io.memgov.runtime.Tracked;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillException;
import io.memgov.runtime.spill.SpillFile;
import io.memgov.runtime.spill.SpillStore;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.cpu.nativecpu.buffer.BaseCpuDataBuffer;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The half of memgov's ND4J bridge that lives inside ND4J's class loader. The rewritten ND4J classes
 * call its static methods; every method catches its own Throwables (but lets ND4J's own exceptions
 * through where it calls ND4J on the caller's behalf).
 *
 * <p>It is never a class of the agent jar: the build stores its bytes as a resource.
 */
public final class MemgovNd4j {
    /** Workspace blocks by native address: they are freed by address. */
    private static final ConcurrentHashMap<Long, Object> BLOCKS = new ConcurrentHashMap<>();

    /** Spill mode, fixed when the helper is defined: a HOST limit with on-limit=spill. */
    static final boolean SPILL = Governor.spillMode();
    /** Kept for a buffer whose memory escaped to code memgov does not see: it is never spilled. */
    static final Object ESCAPED = new Object();
    /**
     * Native memory memgov owns, by record: pooled buffers' memory and restored buffers' memory. It
     * goes back to the pool (or is freed) when the buffer is released, spilled or grown.
     */
    static final ConcurrentHashMap<Object, Block> OWNED = new ConcurrentHashMap<>();
    /** The pool's kind for ND4J native blocks, or -1 when pooling is off. */
    static final int KIND = poolKind();
    /** Restores of buffers that have views, by record: a view re-reads its pointer after each. */
    static final ConcurrentHashMap<Object, Generation> VIEWS = new ConcurrentHashMap<>();
    /** Smaller buffers (scalars, shapes, small vectors) are not worth a file: they are never spilled. */
    static final long MIN_SPILL_BYTES = 4096;

    static {
        if (SPILL) {
            Governor.registerSpillBridge(Governor.FW_ND4J, new Bridge());
        }
    }

    private MemgovNd4j() {
    }

    private static int poolKind() {
        try {
            MemoryGovernor g = Governor.current();
            if (g != null && Governor.poolEnabled()) {
                return Governor.poolKind((entry, bytes) -> nativeOps().freeHost((Pointer) entry));
            }
        } catch (Throwable t) {
            Governor.adviceError("ND4J pool", t);
        }
        return -1;
    }

    /** A block of native memory memgov owns: from the pool (its class size) or allocated exactly. */
    static final class Block {
        final Pointer memory;
        final long size;
        final boolean pooled;

        Block(Pointer memory, long size, boolean pooled) {
            this.memory = memory;
            this.size = size;
            this.pooled = pooled;
        }
    }

    /** Bytes allocated anew since the last GC memgov asked for, because the pool had nothing. */
    static final java.util.concurrent.atomic.AtomicLong MISSED = new java.util.concurrent.atomic.AtomicLong();
    /** Bytes the pool served since the last GC memgov asked for. */
    static final java.util.concurrent.atomic.AtomicLong SERVED = new java.util.concurrent.atomic.AtomicLong();
    /** The most bytes of misses between two GCs memgov asks for. */
    static final long GC_AFTER_MAX = KIND < 0 ? Long.MAX_VALUE
            : Math.max(8L << 20, Math.min(128L << 20, Governor.current().pool().max() / 2));
    /**
     * After this many bytes of pool misses memgov asks for a GC: ND4J arrays dropped without close()
     * are released (and their blocks pooled) only when one runs, and one may not come for a long time.
     * Adaptive: halved (down to 8 MiB) while the GCs refill the pool (what the pool served since the
     * last one is at least half of it), doubled (up to {@link #GC_AFTER_MAX}) while they do not, as
     * when the application's live arrays are growing rather than being dropped.
     */
    static volatile long gcAfter = Math.min(16L << 20, GC_AFTER_MAX);
    /**
     * The last GC asked for on misses refilled the pool (arrays are being dropped without close()):
     * the next GC is asked for once, as soon as the pool runs low (under {@link #GC_AFTER_MAX} idle),
     * before allocations start to miss.
     */
    static volatile boolean refilling;

    /** The pool's size class for {@code bytes}, or -1 (pooling off, or too small to pool). */
    static long classSize(long bytes) {
        return KIND >= 0 ? io.memgov.runtime.pool.BufferPool.classSize(bytes) : -1;
    }

    /** An idle pooled block for {@code bytes}, or null (nothing allocated, no miss counted toward a GC). */
    static Block pooledBlock(long bytes) {
        long size = classSize(bytes);
        if (size <= 0) {
            return null;
        }
        Object entry = Governor.poolTake(KIND, size);
        return entry == null ? null : new Block((Pointer) entry, size, true);
    }

    /** A block of at least {@code bytes}: a pooled one when there is one, else new. Null if malloc fails. */
    static Block takeBlock(long bytes) {
        Block pooled = pooledBlock(bytes);
        if (pooled != null) {
            SERVED.addAndGet(pooled.size);
            MemoryGovernor g = refilling ? Governor.current() : null;
            if (g != null && g.pool() != null && g.pool().idleBytes() < GC_AFTER_MAX) {
                refilling = false; // once per refill: set again only when a GC asked for on misses refilled the pool
                Governor.requestGc(); // GCs have been refilling the pool and it runs low: the next one now
            }
            return pooled;
        }
        long size = classSize(bytes);
        if (size > 0) {
            long after = gcAfter;
            if (MISSED.addAndGet(size) >= after) {
                MISSED.set(0);
                boolean refilled = SERVED.getAndSet(0) >= after / 2;
                gcAfter = refilled ? Math.max(8L << 20, after / 2) : Math.min(GC_AFTER_MAX, after * 2);
                refilling = refilled;
                Governor.requestGc();
            }
        }
        return newBlock(bytes);
    }

    /** New native memory for {@code bytes} (a whole size class when it has one); null if malloc fails. */
    static Block newBlock(long bytes) {
        long size = classSize(bytes);
        long n = size > 0 ? size : bytes;
        Pointer memory = nativeOps().mallocHost(n, 0);
        return memory == null || memory.isNull() ? null : new Block(memory, n, size > 0);
    }

    /** Gives a block back: to the pool when it came from a size class (the pool frees what it does not keep). */
    static void giveBlock(Block block) {
        if (block == null) {
            return;
        }
        if (block.pooled && KIND >= 0) {
            Governor.poolGive(KIND, block.memory, block.size);
        } else {
            nativeOps().freeHost(block.memory);
        }
    }

    /**
     * Pooling on: replaces {@code OpaqueDataBuffer.allocateDataBuffer} in {@code BaseCpuDataBuffer}'s
     * constructors that create a buffer of their own (not over a Java array): the memory is a block
     * from memgov's pool, zeroed (as libnd4j's own allocation is), handed to libnd4j as an external
     * buffer; it goes back to the pool when the buffer is closed or collected.
     */
    public static OpaqueDataBuffer allocatePooled(long numElements, DataType dataType, boolean allocateBoth) {
        return allocatePooled(numElements, dataType, allocateBoth, true);
    }

    /**
     * The same, zeroing the block only when {@code zero}: {@code BaseCpuDataBuffer(long length,
     * boolean initialize)} zeroes the memory itself when {@code initialize} (every numeric type), and
     * {@code createUninitialized} ({@code initialize=false}) must not pay for it.
     */
    public static OpaqueDataBuffer allocatePooled(long numElements, DataType dataType, boolean allocateBoth,
                                                  boolean zero) {
        long bytes = numElements * dataType.width();
        if (KIND < 0 || allocateBoth || io.memgov.runtime.pool.BufferPool.classSize(bytes) < 0) {
            return allocateDataBuffer(numElements, dataType, allocateBoth);
        }
        Object reservation = null;
        try {
            reservation = Governor.reserve(Governor.FW_ND4J, 0, 0, bytes);
        } catch (MemgovOutOfMemoryError refused) {
            throw refused;
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.allocateDataBuffer", t);
        }
        Block block = null;
        OpaqueDataBuffer buffer = null;
        try {
            block = takeBlock(bytes);
            if (block != null) {
                if (zero) {
                    Pointer.memset(block.memory, 0, bytes);
                }
                buffer = OpaqueDataBuffer.externalizedDataBuffer(numElements, dataType, block.memory, null);
            }
        } catch (Throwable t) {
            Governor.adviceError("pooled allocation", t);
            buffer = null;
        }
        if (buffer == null) { // no memory from malloc, or libnd4j refused it: its own allocation decides
            giveBlock(block);
            Governor.cancel(reservation);
            return allocateDataBuffer(numElements, dataType, allocateBoth);
        }
        try {
            Object tracked = Governor.commit(reservation);
            if (((Object) buffer) instanceof Governed && tracked != null) {
                OWNED.put(tracked, block);
                ((Governed) (Object) buffer).memgov$tracked(tracked);
            } else {
                Governor.release(tracked);
                block = null; // left to the buffer: never reused
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.allocateDataBuffer", t);
        }
        return buffer;
    }

    /**
     * Added to {@code BaseCpuDataBuffer} in every mode ({@code record()} reads the buffer's record
     * through it): its native buffer and Java pointer, read without the hooks its own accessors have.
     */
    public interface Buffer {
        OpaqueDataBuffer memgov$odb();

        Pointer memgov$pointer();
    }

    /** How many times a buffer with views was restored (each restore moves its memory). */
    static final class Generation {
        volatile int restores;
    }

    /**
     * Kept on a view's native buffer in place of a record: the record of the buffer it views, and
     * which restore of it the view's Java pointer and indexer were made for. libnd4j's view shares
     * the viewed buffer's native memory, so a restore moves both; the view re-reads its pointer.
     */
    static final class ViewOf {
        final Object root;
        final Generation generation;
        volatile int seen;

        ViewOf(Object root, Generation generation) {
            this.root = root;
            this.generation = generation;
            this.seen = generation.restores;
        }
    }

    /** A method of an ND4J class that hands buffer memory to native code begins (spill mode). */
    public static void enter() {
        Pins.current().enter();
    }

    /** ...and ends, normally or not: when the outermost ends, its pins go. */
    public static void exit() {
        Pins.current().exit();
    }

    /**
     * Spill mode, {@code OpaqueDataBuffer.closeBuffer()} begins: its storage is no longer spillable, and
     * a restore ahead of use in flight ends first (see {@link Bridge#restoreAhead}).
     */
    public static void closing(Object odb) {
        try {
            Object record = odb instanceof Governed ? ((Governed) odb).memgov$tracked() : null;
            if (record instanceof Tracked && !((Tracked) record).isView()) {
                synchronized (record) {
                    Governor.keep(record, null);
                }
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.closeBuffer", t);
        }
    }

    /** The record of a buffer's native memory: a Tracked, a ViewOf, or null. */
    static Object record(Object buffer) {
        if (!(buffer instanceof Buffer)) {
            return null;
        }
        Object odb = ((Buffer) buffer).memgov$odb();
        return odb instanceof Governed ? ((Governed) odb).memgov$tracked() : null;
    }

    /**
     * Spill mode: ND4J code is about to read {@code buffer}'s pointer, indexer or native buffer. Inside
     * a bracketed method the buffer is pinned until the outermost one ends; a spilled buffer is
     * restored first (a failed restore throws: its memory must never be read).
     */
    public static void use(Object buffer) {
        Object record;
        ViewOf view = null;
        try {
            record = record(buffer);
            if (record instanceof ViewOf) {
                view = (ViewOf) record;
                record = view.root;
            } else if (!(record instanceof Tracked)) {
                return; // untracked
            }
            Pins p = Pins.current();
            if (p.busy()) {
                return;
            }
            p.pin(record);
            Governor.touch(record);
        } catch (Throwable t) {
            Governor.adviceError("ND4J buffer access", t);
            return;
        }
        if (Governor.away(record)) {
            // a pooled block first: its bytes already count on HOST, so the restore needs no spill
            // for them, and the memory is warm (typically the block of the buffer spilled last)
            Block warm = pooledBlock(((Tracked) record).storageBytes());
            boolean restoring;
            try {
                restoring = Governor.beginRestore(record);
            } catch (Throwable e) { // its bytes could not be admitted: the block goes back
                giveBlock(warm);
                throw e;
            }
            if (restoring) {
                restore(view == null ? buffer : Governor.kept(record), record, warm);
            } else {
                giveBlock(warm);
            }
        }
        if (view != null && view.seen != view.generation.restores) {
            int now = view.generation.restores;
            actualize(buffer);
            view.seen = now;
        }
    }

    /** Re-reads a buffer's pointer and indexer from its native buffer (without coming back here). */
    static void actualize(Object buffer) {
        Pins p = Pins.current();
        p.busy(true);
        try {
            ((BaseCpuDataBuffer) buffer).actualizePointerAndIndexer();
        } finally {
            p.busy(false);
        }
    }

    /**
     * Spill mode: an accessor that hands out raw memory (a pointer, an indexer, an NIO buffer, the
     * native buffer, an address) begins. Called from code that is not bracketed, the memory escapes
     * where memgov cannot see its use: the buffer is made resident and is never spilled again.
     */
    public static void handout(Object buffer) {
        Object record;
        try {
            if (Pins.current().depth() > 1) {
                return; // a bracketed ND4J method: the buffer is pinned until it ends
            }
            record = root(record(buffer));
            if (record == null) {
                return;
            }
        } catch (Throwable t) {
            Governor.adviceError("ND4J buffer access", t);
            return;
        }
        // resident (and, for a view, its pointer current) first, while the buffer kept for the
        // storage is still known; pinned by the accessor's own bracket until it is marked
        use(buffer);
        try {
            if (Governor.kept(record) != ESCAPED) {
                Governor.keep(record, ESCAPED);
                escaped(record);
            }
        } catch (Throwable t) {
            Governor.adviceError("ND4J buffer access", t);
        }
    }

    /**
     * At {@code debug}: one {@code escape} event for a buffer that will not be spilled again, with the
     * first frames outside ND4J's buffer classes (where its memory was handed out).
     */
    static void escaped(Object record) {
        MemoryGovernor g = Governor.current();
        if (g == null || !g.log().isEnabled(io.memgov.runtime.config.LogLevel.DEBUG)) {
            return;
        }
        String site = StackWalker.getInstance().walk(frames -> frames
                .filter(f -> !f.getClassName().startsWith("org.nd4j.linalg.api.buffer.")
                        && !f.getClassName().startsWith("org.nd4j.linalg.cpu.nativecpu.buffer.")
                        && !f.getClassName().equals(MemgovNd4j.class.getName()))
                .limit(4)
                .map(f -> f.getClassName() + "." + f.getMethodName() + ":" + f.getLineNumber())
                .collect(java.util.stream.Collectors.joining(" < ")));
        g.log().emit(io.memgov.runtime.config.LogLevel.DEBUG, "escape", "id", ((Tracked) record).id(),
                "bytes", ((Tracked) record).storageBytes(), "site", site);
    }

    /** A {@code BaseCpuDataBuffer} constructor returns: its own detached memory (4 KiB or more) may be spilled. */
    public static void constructed(Object buffer) {
        try {
            Object record = record(buffer);
            if (record instanceof Tracked && Governor.kept(record) == null
                    && ((Tracked) record).storageBytes() >= MIN_SPILL_BYTES
                    && !(buffer instanceof org.nd4j.linalg.cpu.nativecpu.buffer.Utf8Buffer)) {
                Governor.keep(record, buffer);
            }
        } catch (Throwable t) {
            Governor.adviceError("BaseCpuDataBuffer.<init>", t);
        }
    }

    /**
     * A view of {@code underlying} is being constructed. The constructor counts as a bracketed method:
     * the parent it reads (and makes the view's pointer from) is restored and pinned by those reads
     * until {@link #viewDone} ends it.
     */
    public static void viewOf(Object underlying) {
        enter(); // the parent it reads is restored and pinned by its reads
    }

    /** The view's constructor returns: its native buffer carries what it views. */
    public static void viewDone(Object view, Object underlying) {
        try {
            Object root = root(record(underlying));
            Object odb = view instanceof Buffer ? ((Buffer) view).memgov$odb() : null;
            if (root != null && odb instanceof Governed && ((Governed) odb).memgov$tracked() == null) {
                ((Governed) odb).memgov$tracked(new ViewOf(root, VIEWS.computeIfAbsent(root, k -> new Generation())));
            }
        } catch (Throwable t) {
            Governor.adviceError("BaseCpuDataBuffer view", t);
        } finally {
            exit(); // the parent stayed pinned while the view's pointer was made from its memory
        }
    }

    static Object root(Object record) {
        return record instanceof ViewOf ? ((ViewOf) record).root : record instanceof Tracked ? record : null;
    }

    /** {@code CpuDeallocator}'s constructor reads the native buffer without handing it out. */
    public static OpaqueDataBuffer odb(Object buffer) {
        return buffer instanceof Buffer ? ((Buffer) buffer).memgov$odb()
                : ((BaseCpuDataBuffer) buffer).getOpaqueDataBuffer();
    }

    static NativeOps nativeOps() {
        return NativeOpsHolder.getInstance().getDeviceNativeOps();
    }

    /** Reads a spilled buffer back into memory memgov allocates, verified; ND4J then points at it. */
    static void restore(Object buffer, Object record, Block warm) {
        boolean ok = false;
        Block block = warm;
        try {
            Object kept = Governor.kept(record);
            Buffer b = (Buffer) (kept instanceof Buffer ? kept : buffer);
            long bytes = ((Tracked) record).storageBytes();
            if (block == null) {
                block = pooledBlock(bytes); // the admission may have spilled buffers into the pool
            }
            if (block == null) {
                block = newBlock(bytes); // not counted as a pool miss: a restore never asks for a GC
            }
            Pointer memory = block == null ? null : block.memory;
            if (memory == null) {
                throw new OutOfMemoryError("memgov: cannot allocate " + bytes + " bytes to restore tensor "
                        + ((Tracked) record).id());
            }
            BytePointer view = new BytePointer(memory);
            view.capacity(bytes).limit(bytes).position(0);
            Governor.readSpill(record, view.asByteBuffer());
            int width = ((BaseCpuDataBuffer) b).getElementSize();
            b.memgov$odb().setPrimaryBuffer(memory, bytes / Math.max(1, width));
            actualize(b);
            if (buffer != b && buffer instanceof BaseCpuDataBuffer) {
                actualize(buffer);
            }
            OWNED.put(record, block);
            Generation views = VIEWS.get(record);
            if (views != null) {
                views.restores++; // one restorer at a time: the record is RESTORING
            }
            ok = true;
        } catch (SpillException e) {
            throw new IllegalStateException(e.getMessage(), e);
        } finally {
            if (!ok) {
                giveBlock(block);
            }
            Governor.endRestore(record, ok);
        }
    }

    /** Gives back the memory memgov owns for a buffer (pooled or restored), if any. */
    static void freeOwned(Object record) {
        Block block = OWNED.remove(record);
        if (block != null) {
            giveBlock(block);
        }
    }

    /**
     * Spills ND4J buffers: detached, not a view (a view goes with what it views), not pinned, whose
     * memory never escaped, and whose Java pointer reads the native buffer's own memory.
     */
    static final class Bridge implements SpillBridge {
        /**
         * The prefetch thread: the same restore a use would do. Under the record's monitor, which
         * {@link #closing} takes before ND4J frees the native buffer: a buffer being closed is not
         * restored, and one being restored is closed only after.
         */
        @Override
        public int restorePoolKind() {
            return KIND; // a restore's block: pooledBlock
        }

        @Override
        public boolean restoreAhead(Object tensor, Object record) {
            synchronized (record) {
                if (!(tensor instanceof Buffer) || Governor.kept(record) != tensor) {
                    return false;
                }
                restore(tensor, record, pooledBlock(((Tracked) record).storageBytes()));
                return true;
            }
        }

        @Override
        public SpillFile spill(Object tensor, Object record, long id, SpillStore store) throws SpillException {
            if (!(tensor instanceof Buffer)) {
                return null; // ESCAPED, or gone
            }
            if (Governor.inUse(record)) {
                return null;
            }
            Buffer b = (Buffer) tensor;
            OpaqueDataBuffer odb = b.memgov$odb();
            long bytes = ((Tracked) record).storageBytes();
            Pointer primary = odb == null ? null : odb.primaryBuffer();
            if (primary == null || primary.isNull() || bytes <= 0) {
                return null;
            }
            Pointer javaSide = b.memgov$pointer();
            if (javaSide != null && javaSide.address() != primary.address()) {
                return null; // the Java side reads other memory than the native side: leave it alone
            }
            BytePointer data = new BytePointer(primary);
            data.capacity(bytes).limit(bytes).position(0);
            SpillFile file = store.write(id, data.asByteBuffer());
            odb.setPrimaryBuffer(new Pointer(), 0); // frees libnd4j's own memory, if it owned it
            Block owned = OWNED.remove(record);
            if (owned != null) {
                giveBlock(owned);
            } else if (javaSide != null) {
                javaSide.deallocate(); // JavaCPP's copy of a Java array (no-op for a pointer that owns nothing)
            }
            return file;
        }
    }

    /**
     * Replaces {@code OpaqueDataBuffer.allocateDataBuffer(numElements, dataType, allocateBoth)} in
     * ND4J's CPU data buffers: admits {@code numElements × width} bytes under the HOST limit first
     * (spilling, waiting or failing per memgov.on-limit), then allocates, then counts the buffer.
     */
    public static OpaqueDataBuffer allocateDataBuffer(long numElements, DataType dataType, boolean allocateBoth) {
        Object reservation = null;
        try {
            reservation = Governor.reserve(Governor.FW_ND4J, 0, 0, numElements * dataType.width());
        } catch (MemgovOutOfMemoryError refused) {
            throw refused;
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.allocateDataBuffer", t);
        }
        OpaqueDataBuffer buffer;
        try {
            buffer = OpaqueDataBuffer.allocateDataBuffer(numElements, dataType, allocateBoth);
        } catch (Throwable t) {
            Governor.cancel(reservation);
            throw t;
        }
        try {
            if (((Object) buffer) instanceof Governed) {
                ((Governed) (Object) buffer).memgov$tracked(Governor.commit(reservation));
            } else {
                Governor.cancel(reservation);
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.allocateDataBuffer", t);
        }
        return buffer;
    }

    /**
     * The buffer's memory was freed: {@code OpaqueDataBuffer.closeBuffer()} (close) or
     * {@code CpuDeallocator.deallocate()} (the GC path). Whichever comes first releases; the other
     * finds nothing left.
     */
    public static void freed(Object buffer) {
        try {
            if (buffer instanceof Governed) {
                Governed g = (Governed) buffer;
                Object tracked = g.memgov$tracked();
                if (tracked instanceof ViewOf) {
                    g.memgov$tracked(null); // a view: the memory is its parent's
                } else if (tracked != null) {
                    g.memgov$tracked(null);
                    Governor.release(tracked);
                    VIEWS.remove(tracked);
                    freeOwned(tracked);
                }
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer release", t);
        }
    }

    /**
     * {@code CpuDeallocator.deallocate()}: the garbage collector's path. A buffer still counted here
     * was never closed: a {@code leak} (logged, rate-limited), then released like {@link #freed}.
     */
    public static void deallocated(Object buffer) {
        try {
            if (buffer instanceof Governed) {
                Object tracked = ((Governed) buffer).memgov$tracked();
                if (tracked != null) {
                    Governor.leaked(tracked);
                }
            }
        } catch (Throwable t) {
            Governor.adviceError("CpuDeallocator.deallocate", t);
        }
        freed(buffer);
    }

    /**
     * Replaces {@code buffer.expand(length)} in {@code BaseCpuDataBuffer.reallocate}: the new size is
     * admitted first; once the buffer has grown, it is counted at its new size.
     */
    public static void expand(OpaqueDataBuffer buffer, long length, Object dataBuffer) {
        Governed governed = ((Object) buffer) instanceof Governed ? (Governed) (Object) buffer : null;
        Object reservation = null;
        try {
            if (governed != null && governed.memgov$tracked() instanceof Tracked && dataBuffer instanceof BaseCpuDataBuffer) {
                long bytes = length * ((BaseCpuDataBuffer) dataBuffer).getElementSize();
                reservation = Governor.reserve(Governor.FW_ND4J, 0, 0, bytes);
            }
        } catch (MemgovOutOfMemoryError refused) {
            throw refused;
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.expand", t);
        }
        try {
            buffer.expand(length);
        } catch (Throwable t) {
            Governor.cancel(reservation);
            throw t;
        }
        try {
            if (reservation != null) {
                Object old = governed.memgov$tracked();
                Object now = Governor.commit(reservation);
                governed.memgov$tracked(now);
                if (SPILL) {
                    // libnd4j copied the data into memory it owns; a buffer with views is left alone
                    Governor.keep(now, VIEWS.remove(old) != null ? ESCAPED : Governor.kept(old));
                }
                freeOwned(old);
                Governor.release(old);
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.expand", t);
        }
    }

    /** Replaces {@code nativeOps.mallocHost(bytes, flags)}: a workspace block, admitted like a buffer. */
    public static Pointer mallocHost(Object nativeOps, long bytes, int flags) {
        Object reservation = null;
        try {
            reservation = Governor.reserve(Governor.FW_ND4J_WORKSPACE, 0, 0, bytes);
        } catch (MemgovOutOfMemoryError refused) {
            throw refused;
        } catch (Throwable t) {
            Governor.adviceError("NativeOps.mallocHost", t);
        }
        Pointer p;
        try {
            p = ((NativeOps) nativeOps).mallocHost(bytes, flags);
        } catch (Throwable t) {
            Governor.cancel(reservation);
            throw t;
        }
        try {
            if (p != null && !p.isNull()) {
                Object tracked = Governor.commit(reservation);
                if (tracked != null) {
                    Object previous = BLOCKS.put(p.address(), tracked);
                    Governor.release(previous); // an address freed behind our back: it is gone
                }
            } else {
                Governor.cancel(reservation);
            }
        } catch (Throwable t) {
            Governor.adviceError("NativeOps.mallocHost", t);
        }
        return p;
    }

    /** Replaces {@code nativeOps.freeHost(pointer)}. */
    public static int freeHost(Object nativeOps, Object pointer) {
        try {
            if (pointer instanceof Pointer && !((Pointer) pointer).isNull()) {
                Governor.release(BLOCKS.remove(((Pointer) pointer).address()));
            }
        } catch (Throwable t) {
            Governor.adviceError("NativeOps.freeHost", t);
        }
        return ((NativeOps) nativeOps).freeHost((Pointer) pointer);
    }
}
