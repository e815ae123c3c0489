package io.memgov.runtime;

import java.util.Arrays;

/**
 * Spill mode, one thread: the storages pinned by the bracketed framework methods in progress (the
 * methods that hand tensor memory to native code). A storage used inside one is pinned, not
 * spilled, until the outermost one ends, normally or by an exception. One per thread, shared by
 * the framework helpers ({@link #current}); not thread-safe.
 */
public final class Pins {
    private static final ThreadLocal<Pins> PER_THREAD = ThreadLocal.withInitial(Pins::new);

    private int depth;
    /** Set while a helper rebuilds a tensor's Java side itself: its own reads need no pin. */
    private boolean busy;
    private Object[] records = new Object[16];
    private int n;

    /** This thread's Pins. */
    public static Pins current() {
        return PER_THREAD.get();
    }

    /** A bracketed method begins. */
    public void enter() {
        depth++;
    }

    /** ...and ends: when the outermost ends, its pins go. */
    public void exit() {
        if (--depth <= 0) {
            depth = 0;
            for (int i = 0; i < n; i++) {
                Governor.unpin(records[i]);
                records[i] = null;
            }
            n = 0;
        }
    }

    /** How many bracketed methods are in progress. */
    public int depth() {
        return depth;
    }

    /**
     * Inside a bracketed method: pins the storage behind {@code record} until the outermost ends
     * (once, if it is among the last few pinned: a method may read one array many times). Outside
     * one: nothing (there is no end to unpin at).
     */
    public void pin(Object record) {
        if (depth > 0 && !recent(record)) {
            Governor.pin(record);
            if (n == records.length) {
                records = Arrays.copyOf(records, n * 2);
            }
            records[n++] = record;
        }
    }

    private boolean recent(Object record) {
        for (int i = n - 1, stop = Math.max(0, n - 8); i >= stop; i--) {
            if (records[i] == record) {
                return true;
            }
        }
        return false;
    }

    public boolean busy() {
        return busy;
    }

    public void busy(boolean busy) {
        this.busy = busy;
    }
}
