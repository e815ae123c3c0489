package io.memgov.runtime;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The governor's allocations, allocated bytes and releases, striped by thread: a thread adds to its
 * own stripe (its own cache line), so the counting costs an uncontended atomic add and no lock.
 * Sums are exact once the threads that count are quiet.
 */
final class Counts {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int STRIPES = 16;
    /** Longs per stripe: a 64-byte cache line each, so two threads' stripes never share one. */
    private static final int WIDTH = 8;
    private static final int ALLOCATIONS = 0;
    private static final int ALLOCATED_BYTES = 1;
    private static final int RELEASES = 2;

    /** One line of padding before the first stripe: the array's header shares no line with a stripe. */
    private final long[] counts = new long[(STRIPES + 1) * WIDTH];

    private static int stripe() {
        return WIDTH + ((int) Thread.currentThread().getId() & (STRIPES - 1)) * WIDTH;
    }

    void allocated(long bytes) {
        int s = stripe();
        LONGS.getAndAdd(counts, s + ALLOCATIONS, 1L);
        LONGS.getAndAdd(counts, s + ALLOCATED_BYTES, bytes);
    }

    void released() {
        LONGS.getAndAdd(counts, stripe() + RELEASES, 1L);
    }

    long allocations() {
        return sum(ALLOCATIONS);
    }

    long allocatedBytes() {
        return sum(ALLOCATED_BYTES);
    }

    long releases() {
        return sum(RELEASES);
    }

    private long sum(int field) {
        long n = 0;
        for (int i = 0; i < STRIPES; i++) {
            n += (long) LONGS.getVolatile(counts, WIDTH + i * WIDTH + field);
        }
        return n;
    }
}
