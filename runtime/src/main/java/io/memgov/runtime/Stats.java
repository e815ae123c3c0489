package io.memgov.runtime;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The governor's event counters: what moved between tiers, what admission met and refused, what the
 * disk and the advice did wrong. Written off the hot path (a spill, a restore, a limit), each through
 * one typed method that keeps a count and its bytes and micros together; read by the figures
 * ({@link MemoryGovernor#figures}) under the names of {@link Fields}.
 */
final class Stats {
    private final AtomicLong spills = new AtomicLong();
    private final AtomicLong spillBytes = new AtomicLong();
    private final AtomicLong spillMicros = new AtomicLong();
    /** Spills that wrote nothing: the storage was unchanged since its restore and its file was kept. */
    private final AtomicLong cleanSpills = new AtomicLong();
    private final AtomicLong cleanSpillBytes = new AtomicLong();
    private final AtomicLong cleanSpillMicros = new AtomicLong();
    private final AtomicLong restores = new AtomicLong();
    private final AtomicLong restoreBytes = new AtomicLong();
    private final AtomicLong restoreMicros = new AtomicLong();
    private final AtomicLong offloads = new AtomicLong();
    private final AtomicLong offloadBytes = new AtomicLong();
    private final AtomicLong limitHits = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong diskFailures = new AtomicLong();
    /** Spills refused for want of disk (DISK at its limit, or its file system full). */
    private final AtomicLong diskFulls = new AtomicLong();
    private final AtomicLong gcRequests = new AtomicLong();
    private final AtomicLong adviceErrors = new AtomicLong();

    /** A HOST→DISK spill; {@code clean}: it reused the file kept since the storage's restore (wrote nothing). */
    void spilled(long bytes, long micros, boolean clean) {
        spills.incrementAndGet();
        spillBytes.addAndGet(bytes);
        spillMicros.addAndGet(micros);
        if (clean) {
            cleanSpills.incrementAndGet();
            cleanSpillBytes.addAndGet(bytes);
            cleanSpillMicros.addAndGet(micros);
        }
    }

    /** A demand restore (DISK→HOST, or HOST→DEVICE for an offloaded storage). */
    void restored(long bytes, long micros) {
        restores.incrementAndGet();
        restoreBytes.addAndGet(bytes);
        restoreMicros.addAndGet(micros);
    }

    /** A DEVICE→HOST offload. */
    void offloaded(long bytes) {
        offloads.incrementAndGet();
        offloadBytes.addAndGet(bytes);
    }

    void limitHit() { limitHits.incrementAndGet(); }
    void failure() { failures.incrementAndGet(); }
    /** A spill given up on a disk error; returns the count so far (the first few are logged). */
    long diskFailure() { return diskFailures.incrementAndGet(); }
    void diskFull() { diskFulls.incrementAndGet(); }
    void gcRequest() { gcRequests.incrementAndGet(); }
    /** Advice hit a Throwable; returns the count so far (the first few are logged). */
    long adviceError() { return adviceErrors.incrementAndGet(); }

    long spills() { return spills.get(); }
    long spillBytes() { return spillBytes.get(); }
    long spillMicros() { return spillMicros.get(); }
    long cleanSpills() { return cleanSpills.get(); }
    long cleanSpillBytes() { return cleanSpillBytes.get(); }
    long cleanSpillMicros() { return cleanSpillMicros.get(); }
    long restores() { return restores.get(); }
    long restoreBytes() { return restoreBytes.get(); }
    long restoreMicros() { return restoreMicros.get(); }
    long offloads() { return offloads.get(); }
    long offloadBytes() { return offloadBytes.get(); }
    long limitHits() { return limitHits.get(); }
    long failures() { return failures.get(); }
    long diskFailures() { return diskFailures.get(); }
    long diskFulls() { return diskFulls.get(); }
    long gcRequests() { return gcRequests.get(); }
    long adviceErrors() { return adviceErrors.get(); }
}
