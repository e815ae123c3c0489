package io.memgov.runtime;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Restores spilled storages ahead of their use (memgov.prefetch=auto), on its own thread.
 *
 * <p>What it learns: the order of <em>misses</em>, the uses that find a storage away (a demand
 * restore) or find it prefetched and not yet used (a hit), on each thread. A successor table maps
 * each storage to the one its thread missed after it, with a confidence that grows when the same
 * successor follows again and starts over when another does. A loop over a working set larger than the limit misses in the same
 * order pass after pass; random access does not repeat, so its links never gain confidence and
 * nothing is fetched for them.
 *
 * <p>What it does: after each miss of X it follows X's confident links (up to {@link #DEPTH} ahead)
 * and restores each successor that is spilled, into headroom under the HOST limit only: a prefetch
 * reserves its bytes without spilling anything ({@code tryReserve}), so it never spills a tensor, and
 * stops at the first one that does not fit. A prefetched storage is resident like a restored one
 * (the same bridge code reads and verifies its file) and is marked with {@link Governor#PREFETCHED} as
 * its last access: demand spills take it last, and its first use counts a hit and puts it on the
 * probation a restored storage gets. A demand use that finds the prefetch of its storage in flight
 * waits for it ({@code restores.waited}) instead of reading the file twice. A prefetch that fails
 * (a disk error, a corrupt file, the tensor closed meanwhile) leaves the storage spilled: its demand
 * restore then reports as without prefetch.
 *
 * <p>Whether it fetches at all is judged by the application's progress with and without it
 * ({@link PrefetchTrial}): where its copies take cores from the application's compute, it is off.
 * With memgov.prefetch=on it is not judged: it fetches whenever a link is confident.
 */
final class Prefetcher {
    /** Successors followed after a miss. */
    static final int DEPTH = 8;
    /** A link is followed once its successor came after it this many times in a row beyond the first. */
    static final int CONFIDENT = 1;

    /** One storage's learned successor. */
    static final class Link {
        volatile Tracked next;
        volatile int confidence;
    }

    private final MemoryGovernor governor;
    final ConcurrentHashMap<Tracked, Link> links = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Tracked> misses = new LinkedBlockingQueue<>(1024);
    private final Object order = new Object();
    /**
     * The last miss of each application thread: links join a thread's misses, not everyone's (threads
     * walking the same order from different places interleave into a sequence that never repeats).
     */
    private final ThreadLocal<Tracked> last = new ThreadLocal<>();
    /** The storage this thread is restoring now, or null. */
    volatile Tracked inFlight;
    final AtomicLong prefetches = new AtomicLong();
    final AtomicLong prefetchBytes = new AtomicLong();
    final AtomicLong hits = new AtomicLong();
    final AtomicLong wasted = new AtomicLong();
    final AtomicLong waited = new AtomicLong();
    private final Thread thread;
    /** Prefetching paused: its uses only raced it ({@link #worthIt}), or a trial found it slower ({@link PrefetchTrial}). */
    final AtomicLong pauses = new AtomicLong();
    final PrefetchTrial trial = new PrefetchTrial(System::nanoTime, pauses);

    /** False with memgov.prefetch=on: it fetches whatever the trial or the racing check would say. */
    private final boolean judged;

    Prefetcher(MemoryGovernor governor) {
        this(governor, true);
    }

    Prefetcher(MemoryGovernor governor, boolean judged) {
        this.governor = governor;
        this.judged = judged;
        this.thread = new Thread(this::run, "memgov-prefetch");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    void stop() {
        thread.interrupt();
    }

    /** A miss of {@code t} (a demand restore begins, or the first use of a prefetched storage). */
    void miss(Tracked t) {
        synchronized (order) {
            if (judged && prefetches.get() > 0) {
                trial.miss(); // judged once there is something to judge
            }
            Tracked before = last.get();
            last.set(t);
            if (before != null && before != t) {
                Link l = links.computeIfAbsent(before, k -> new Link());
                if (l.next == t) {
                    if (l.confidence < 3) {
                        l.confidence++;
                    }
                } else {
                    l.next = t;
                    l.confidence = 0;
                }
            }
        }
        Link l = links.get(t);
        if (l != null && l.confidence >= CONFIDENT) {
            misses.offer(t); // full: this miss is not followed (the thread is behind anyway)
        }
    }

    /** The storage went: its link goes too (links of others that point at it lose their target). */
    void forget(Tracked t) {
        links.remove(t);
    }

    /** Prefetches per judging window (see {@link #worthIt}). */
    static final int WINDOW = 32;
    /** Above this share of a window's prefetches waited for by their uses, prefetching pauses. */
    static final double RACING = 0.3;
    static final long PAUSE_NANOS = 2_000_000_000L;
    private long windowPrefetches;
    private long windowWaited;
    private long pausedUntil;

    /**
     * Judges the last window of prefetches: when their uses waited for a third of them or more, the
     * prefetches only race the application (fetched just in time, not ahead: a working set cycling
     * through a headroom that holds a few tensors) and cost it more than they save (the copies compete
     * with its compute for cores and memory bandwidth, and the demand restore that waits is no faster
     * than its own read would be): prefetching pauses for 2 s, then tries again. False while paused.
     */
    boolean worthIt() {
        long now = System.nanoTime();
        if (pausedUntil != 0 && now - pausedUntil < 0) {
            return false;
        }
        long p = prefetches.get();
        long w = waited.get();
        if (pausedUntil != 0) { // a new window after a pause
            pausedUntil = 0;
            windowPrefetches = p;
            windowWaited = w;
        }
        if (p - windowPrefetches >= WINDOW) {
            boolean racing = (w - windowWaited) > RACING * (p - windowPrefetches);
            windowPrefetches = p;
            windowWaited = w;
            if (racing) {
                pausedUntil = now + PAUSE_NANOS;
                pauses.incrementAndGet();
                return false;
            }
        }
        return true;
    }

    private void run() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Tracked t = misses.take();
                if (judged && (!worthIt() || !trial.on())) {
                    continue; // paused, or off for a trial: the link table still learns (miss), nothing is fetched
                }
                Tracked y = t;
                for (int d = 0; d < DEPTH; d++) {
                    Link l = links.get(y);
                    if (l == null || l.confidence < CONFIDENT) {
                        break;
                    }
                    y = l.next;
                    if (y == null || y == t) {
                        break;
                    }
                    int st = y.state;
                    if (st == Tracked.SPILLED && !governor.prefetch(y)) {
                        break; // no headroom: nothing further would fit either
                    } else if (st == Tracked.FREED) {
                        break;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            governor.error("the prefetch thread stopped; spilled tensors come back on use only", e);
        }
    }
}
