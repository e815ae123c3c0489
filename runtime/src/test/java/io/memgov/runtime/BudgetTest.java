package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class BudgetTest {
    private static final int THREADS = 8;
    private static final int PAIRS = 100_000;

    @Test
    void newBudgetIsEmptyAndKeepsItsNameAndLimit() {
        Budget b = new Budget("host", 1000);
        assertEquals("host", b.name());
        assertEquals(0, b.used());
        assertEquals(0, b.peak());
        assertEquals(1000, b.limit());
    }

    @Test
    void negativeLimitMeansNone() {
        assertEquals(Budget.NONE, new Budget("x", -5).limit());
        Budget b = new Budget("x", 10);
        b.setLimit(-5);
        assertEquals(-1L, b.limit());
        assertEquals(Budget.NONE, b.limit());
        b.setLimit(0);
        assertEquals(0, b.limit());
    }

    @Test
    void tryReserveWithinTheLimitSucceeds() {
        Budget b = new Budget("host", 100);
        assertTrue(b.tryReserve(60));
        assertTrue(b.tryReserve(40)); // exactly at the limit is allowed
        assertEquals(100, b.used());
        assertEquals(100, b.peak());
    }

    @Test
    void tryReserveOverTheLimitFailsAndChangesNothing() {
        Budget b = new Budget("host", 100);
        assertTrue(b.tryReserve(70));
        assertFalse(b.tryReserve(31));
        assertEquals(70, b.used());
        assertEquals(70, b.peak());
        assertFalse(new Budget("zero", 0).tryReserve(1));
    }

    @Test
    void tryReserveWithoutALimitAlwaysSucceeds() {
        Budget b = new Budget("host", Budget.NONE);
        assertTrue(b.tryReserve(Long.MAX_VALUE / 2));
        assertEquals(Long.MAX_VALUE / 2, b.used());
    }

    @Test
    void loweringTheLimitAffectsLaterReservations() {
        Budget b = new Budget("host", 1000);
        assertTrue(b.tryReserve(500));
        b.setLimit(400);
        assertFalse(b.tryReserve(1));
        assertEquals(500, b.used());
        b.setLimit(-5);
        assertTrue(b.tryReserve(1_000_000));
    }

    @Test
    void forceReserveIgnoresTheLimit() {
        Budget b = new Budget("host", 100);
        b.forceReserve(250);
        assertEquals(250, b.used());
        assertEquals(250, b.peak());
        assertFalse(b.tryReserve(1), "already over the limit");
        assertEquals(250, b.used());
    }

    @Test
    void peakIsTheMaximumEverCommitted() {
        Budget b = new Budget("host", Budget.NONE);
        b.forceReserve(100);
        b.forceReserve(50);
        b.release(120);
        assertEquals(30, b.used());
        assertEquals(150, b.peak());
        b.forceReserve(100);
        assertEquals(130, b.used());
        assertEquals(150, b.peak());
        b.forceReserve(40);
        assertEquals(170, b.peak());
    }

    @Test
    void releaseLowersUseButNotPeak() {
        Budget b = new Budget("host", 100);
        assertTrue(b.tryReserve(80));
        b.release(30);
        assertEquals(50, b.used());
        assertEquals(80, b.peak());
        assertTrue(b.tryReserve(50), "released bytes can be reserved again");
        assertEquals(100, b.used());
    }

    @Test
    void resetPeakSetsThePeakToCurrentUse() {
        Budget b = new Budget("host", Budget.NONE);
        b.forceReserve(500);
        b.release(400);
        assertEquals(500, b.peak());
        b.resetPeak();
        assertEquals(100, b.peak());
        b.forceReserve(10);
        assertEquals(110, b.peak());
    }

    @Test
    void toStringShowsTheNumbers() {
        Budget b = new Budget("disk", 7);
        b.forceReserve(3);
        assertEquals("disk{used=3, peak=3, limit=7}", b.toString());
    }

    @Test
    void concurrentTryReservePairsAreExactAndNeverExceedTheLimit() throws Exception {
        long limit = 4_000;
        Budget b = new Budget("host", limit);
        AtomicLong successes = new AtomicLong();
        AtomicLong overLimitSeen = new AtomicLong();
        runConcurrently(() -> {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            for (int i = 0; i < PAIRS; i++) {
                long bytes = 1 + r.nextInt(1_000);
                if (b.tryReserve(bytes)) {
                    successes.incrementAndGet();
                    if (b.used() > limit) {
                        overLimitSeen.incrementAndGet();
                    }
                    b.release(bytes);
                }
            }
        });
        assertEquals(0, b.used(), "a lost update leaves bytes counted");
        assertTrue(b.peak() <= limit, "peak " + b.peak() + " over the limit " + limit);
        assertTrue(b.peak() > 0);
        assertTrue(successes.get() > 0);
        assertEquals(0, overLimitSeen.get(), "use was seen over the limit");
    }

    @Test
    void concurrentForceReservePairsAreExact() throws Exception {
        Budget b = new Budget("host", 10); // a limit forceReserve ignores
        runConcurrently(() -> {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            for (int i = 0; i < PAIRS; i++) {
                long bytes = 1 + r.nextInt(1_000);
                b.forceReserve(bytes);
                b.release(bytes);
            }
        });
        assertEquals(0, b.used(), "a lost update leaves bytes counted");
        assertTrue(b.peak() >= 1 && b.peak() <= THREADS * 1_000L, "peak " + b.peak());
    }

    @Test
    void concurrentHeldReservationsAddUpExactly() throws Exception {
        Budget b = new Budget("host", Budget.NONE);
        long[] held = new long[THREADS];
        List<List<Long>> stacks = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            stacks.add(new ArrayList<>());
        }
        AtomicLong next = new AtomicLong();
        runConcurrently(() -> {
            int me = (int) next.getAndIncrement();
            List<Long> mine = stacks.get(me);
            ThreadLocalRandom r = ThreadLocalRandom.current();
            for (int i = 0; i < PAIRS; i++) {
                if (mine.isEmpty() || r.nextBoolean()) {
                    long bytes = 1 + r.nextInt(1_000);
                    if (r.nextBoolean()) {
                        b.forceReserve(bytes);
                    } else {
                        assertTrue(b.tryReserve(bytes));
                    }
                    mine.add(bytes);
                    held[me] += bytes;
                } else {
                    long bytes = mine.remove(mine.size() - 1);
                    b.release(bytes);
                    held[me] -= bytes;
                }
            }
        });
        long expected = 0;
        for (long h : held) {
            expected += h;
        }
        assertEquals(expected, b.used());
        assertTrue(b.peak() >= expected);
        for (List<Long> s : stacks) {
            for (long bytes : s) {
                b.release(bytes);
            }
        }
        assertEquals(0, b.used());
    }

    /** Runs {@code body} on {@link #THREADS} threads released together by a start gate. */
    static void runConcurrently(Runnable body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            CountDownLatch ready = new CountDownLatch(THREADS);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                futures.add(pool.submit(() -> {
                    ready.countDown();
                    start.await();
                    body.run();
                    return null;
                }));
            }
            assertTrue(ready.await(30, TimeUnit.SECONDS));
            start.countDown();
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
