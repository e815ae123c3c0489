package io.memgov.runtime;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Judges, by the application's own progress, whether prefetching pays on this machine and workload.
 * A prefetch's copy and checksum run on memgov's thread, but on a machine with few cores that thread
 * takes them from the application's compute (libtorch runs its ops on every core): there, sequential
 * passes under a limit ran 0.6x (DJL) and 0.88x (ND4J) as fast with prefetch as without. No core count
 * says where the line is, so memgov measures: the time the application takes for a window of
 * {@link #WINDOW} misses (uses of a spilled or prefetched storage) with prefetching on, and with it
 * off, {@link #ROUNDS} times each ({@link #onIn}); then it keeps the faster mode (off only when it was
 * more than {@link #MARGIN} faster) for {@link #HOLD} windows, and tries again (a workload changes).
 *
 * <p>A trial starts once something was prefetched (the prefetcher calls {@link #miss} from then on:
 * before, on and off are the same). The first {@link #SETTLE} misses after each switch are not timed: storages prefetched in an on
 * window are still being used at the start of the off window that follows, and would flatter it.
 * Called under the prefetcher's lock (one caller at a time).
 */
final class PrefetchTrial {
    static final int WINDOW = 16;
    static final int SETTLE = 4;
    static final int ROUNDS = 2;
    static final double MARGIN = 0.05;
    static final int HOLD = 64;

    private final LongSupplier clock;
    /** 0 .. 2*ROUNDS-1: a trial window (even: on, odd: off); 2*ROUNDS: holding the chosen mode. */
    private int phase;
    /** Misses in the current window ({@link #SETTLE} + {@link #WINDOW}), settling ones included. */
    private int count;
    private long start;
    private long onNanos;
    private long offNanos;
    private int held;
    private volatile boolean on = true;
    /** Counts trials that found prefetching slower (it was turned off until the next trial). */
    private final AtomicLong offs;

    PrefetchTrial(LongSupplier clock, AtomicLong offs) {
        this.clock = clock;
        this.offs = offs;
    }

    /**
     * The trial's windows go on, off, off, on (and so on): the application speeds up as the JVM
     * compiles its code, and this order cancels such a trend, where on, off, on, off would favour off.
     */
    static boolean onIn(int phase) {
        return ((phase + 1) / 2) % 2 == 0;
    }

    /** Whether the prefetch thread fetches now. */
    boolean on() {
        return on;
    }

    /** One miss (a demand restore, or the first use of a prefetched storage). */
    void miss() {
        count++;
        if (count == SETTLE) { // the clock runs from the last settling miss to the window's last
            start = clock.getAsLong();
        }
        if (count < SETTLE + WINDOW) {
            return;
        }
        long took = clock.getAsLong() - start;
        count = 0;
        if (phase < 2 * ROUNDS) {
            if (onIn(phase)) {
                onNanos += took;
            } else {
                offNanos += took;
            }
            phase++;
            if (phase < 2 * ROUNDS) {
                on = onIn(phase);
                return;
            }
            on = offNanos >= onNanos * (1 - MARGIN);
            if (!on) {
                offs.incrementAndGet();
            }
            held = 0;
        } else if (++held >= HOLD) {
            phase = 0;
            onNanos = 0;
            offNanos = 0;
            on = true;
        }
    }
}
