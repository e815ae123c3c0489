package io.memgov.runtime.pool;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Size-classed reuse of released buffers, with one byte cap over everything held idle and idle
 * trimming. Framework-agnostic: an entry is any {@code Object} of a known byte size (a direct
 * {@link java.nio.ByteBuffer}, a native allocation's owner...) of one <em>kind</em>; each kind has
 * the {@link Freer} that frees its entries when the pool drops them. Entries of different kinds never
 * mix.
 *
 * <p>Size classes: requests under {@link #MIN_CLASS} bytes are not pooled; from there each power of
 * two is split into four classes (as jemalloc and Netty do), so an entry is at most 25% larger than
 * the request it serves. A class holds its idle entries last-in first-out (the warmest first); idle
 * trimming drops the entries idle longest.
 *
 * <p>Thread-safe. The hot path ({@link #take}, {@link #give}) takes one short per-class lock and
 * updates one atomic and one striped counter.
 */
public final class BufferPool {
    /** Frees an entry the pool drops (over the cap, trimmed). Must not throw. */
    public interface Freer {
        void free(Object entry, long bytes);
    }

    /** Smallest pooled request: below it, allocating anew is cheap enough. */
    public static final long MIN_CLASS = 16 * 1024;
    private static final int MIN_SHIFT = 14; // log2(MIN_CLASS)
    private static final int SUBCLASSES = 4;
    private static final int MAX_KINDS = 8;
    private static final int CLASSES = (63 - MIN_SHIFT) * SUBCLASSES;

    private final long max;
    private final AtomicLong idle = new AtomicLong();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final Freer[] freers = new Freer[MAX_KINDS];
    /** Kinds registered; written after their stacks, so a kind under it has its stacks. */
    private volatile int kinds;
    /** [kind][class], created on first use. */
    private final Stack[][] stacks = new Stack[MAX_KINDS][];

    /** A pool that holds at most {@code maxIdleBytes} idle (0: holds nothing). */
    public BufferPool(long maxIdleBytes) {
        this.max = Math.max(0, maxIdleBytes);
    }

    /** Registers a kind of entry; returns its number for {@link #take} and {@link #give}. */
    public synchronized int register(Freer freer) {
        if (kinds == MAX_KINDS) {
            throw new IllegalStateException("at most " + MAX_KINDS + " kinds of pooled entries");
        }
        freers[kinds] = freer;
        Stack[] s = new Stack[CLASSES];
        for (int i = 0; i < CLASSES; i++) {
            s[i] = new Stack();
        }
        stacks[kinds] = s;
        return kinds++;
    }

    /**
     * The size of the class that serves a request of {@code bytes}: the entry to allocate on a miss,
     * and the size to {@link #give} it back with. -1 when such requests are not pooled.
     */
    public static long classSize(long bytes) {
        if (bytes < MIN_CLASS || bytes > (1L << 62)) {
            return -1;
        }
        int k = 63 - Long.numberOfLeadingZeros(bytes); // 2^k <= bytes < 2^(k+1)
        long step = 1L << (k - 2);
        return (bytes + step - 1) & -step;
    }

    /** The index of a class size returned by {@link #classSize}. */
    static int classIndex(long classSize) {
        int k = 63 - Long.numberOfLeadingZeros(classSize);
        long step = 1L << (k - 2);
        int sub = (int) ((classSize - (1L << k)) / step); // 0..3, or 4 == next power's 0
        return (k - MIN_SHIFT) * SUBCLASSES + sub;
    }

    /**
     * An idle entry of {@code kind} and class {@code classSize} (a {@link #classSize} result), or null
     * (a miss: the caller allocates one of {@code classSize} bytes). Counts the hit or miss.
     */
    public Object take(int kind, long classSize) {
        if (classSize < MIN_CLASS || kind < 0 || kind >= kinds) {
            return null;
        }
        Object e = stacks[kind][classIndex(classSize)].pop();
        if (e == null) {
            misses.increment();
            return null;
        }
        idle.addAndGet(-classSize);
        hits.increment();
        return e;
    }

    /**
     * Offers a released entry back. False when it was not taken (under the minimum class, or the
     * cap would be exceeded): the caller keeps it, and frees it.
     */
    public boolean give(int kind, Object entry, long classSize, int nowMillis) {
        if (entry == null || kind < 0 || kind >= kinds || classSize < MIN_CLASS || classSize(classSize) != classSize) {
            return false;
        }
        for (;;) {
            long i = idle.get();
            if (i + classSize > max) {
                return false;
            }
            if (idle.compareAndSet(i, i + classSize)) {
                break;
            }
        }
        stacks[kind][classIndex(classSize)].push(entry, nowMillis);
        return true;
    }

    /**
     * Frees idle entries, coldest classes' oldest first, until at least {@code bytes} are freed or
     * nothing is idle. Returns the bytes freed.
     */
    public long trim(long bytes) {
        long freed = 0;
        // largest classes first: fewest entries to free for the bytes wanted
        for (int c = CLASSES - 1; c >= 0 && freed < bytes; c--) {
            for (int k = 0; k < kinds && freed < bytes; k++) {
                Stack s = stacks[k][c];
                if (s.n == 0) {
                    continue;
                }
                long size = sizeOf(c);
                Object e;
                while (freed < bytes && (e = s.removeOldest()) != null) {
                    freed += drop(k, e, size);
                }
            }
        }
        return freed;
    }

    /** Frees every entry idle since before {@code nowMillis - idleMillis}. Returns the bytes freed. */
    public long trimIdle(int nowMillis, int idleMillis) {
        long freed = 0;
        for (int k = 0; k < kinds; k++) {
            for (int c = 0; c < CLASSES; c++) {
                Stack s = stacks[k][c];
                if (s.n == 0) {
                    continue;
                }
                long size = sizeOf(c);
                Object e;
                while ((e = s.removeOldestBefore(nowMillis - idleMillis)) != null) {
                    freed += drop(k, e, size);
                }
            }
        }
        return freed;
    }

    private long drop(int kind, Object entry, long size) {
        idle.addAndGet(-size);
        dropped.increment();
        try {
            freers[kind].free(entry, size);
        } catch (Throwable ignored) {
            // a freer must not throw; the entry is left to the GC
        }
        return size;
    }

    /** Frees an entry of {@code kind} with that kind's freer (an entry the pool did not take). */
    public void free(int kind, Object entry, long size) {
        try {
            freers[kind].free(entry, size);
        } catch (Throwable ignored) {
            // left to the GC
        }
    }

    static long sizeOf(int classIndex) {
        int k = classIndex / SUBCLASSES + MIN_SHIFT;
        return (1L << k) + (classIndex % SUBCLASSES) * (1L << (k - 2));
    }

    public long max() { return max; }
    /** Bytes held idle now. */
    public long idleBytes() { return idle.get(); }
    public long hits() { return hits.sum(); }
    public long misses() { return misses.sum(); }
    /** Entries freed by trimming. */
    public long dropped() { return dropped.sum(); }

    /** Idle entries of one kind and class, newest on top, with the time each came back. */
    static final class Stack {
        private Object[] entries = new Object[4];
        private int[] times = new int[4];
        volatile int n;

        synchronized void push(Object e, int now) {
            if (n == entries.length) {
                entries = java.util.Arrays.copyOf(entries, n * 2);
                times = java.util.Arrays.copyOf(times, n * 2);
            }
            entries[n] = e;
            times[n] = now;
            n = n + 1;
        }

        synchronized Object pop() {
            if (n == 0) {
                return null;
            }
            int i = n - 1;
            Object e = entries[i];
            entries[i] = null;
            n = i;
            return e;
        }

        /** The entry idle longest (the bottom one). */
        synchronized Object removeOldest() {
            return n == 0 ? null : removeBottom();
        }

        /** The bottom entry if it came back before {@code time}. */
        synchronized Object removeOldestBefore(int time) {
            return n == 0 || times[0] - time >= 0 ? null : removeBottom();
        }

        private Object removeBottom() {
            Object e = entries[0];
            int left = n - 1;
            System.arraycopy(entries, 1, entries, 0, left);
            System.arraycopy(times, 1, times, 0, left);
            entries[left] = null;
            n = left;
            return e;
        }
    }
}
