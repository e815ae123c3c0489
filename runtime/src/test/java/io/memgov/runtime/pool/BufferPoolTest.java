package io.memgov.runtime.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

class BufferPoolTest {
    private static final long K = 1024;

    /** An entry with its size, to see what the pool frees. */
    static final class Entry {
        final long size;

        Entry(long size) {
            this.size = size;
        }
    }

    private final List<Entry> freed = Collections.synchronizedList(new ArrayList<>());

    private BufferPool pool(long max) {
        BufferPool p = new BufferPool(max);
        assertEquals(0, p.register((e, bytes) -> {
            assertEquals(((Entry) e).size, bytes);
            freed.add((Entry) e);
        }));
        return p;
    }

    @Test
    void sizeClassesAreFourPerPowerOfTwoAndServeTheirRequest() {
        assertEquals(-1, BufferPool.classSize(0));
        assertEquals(-1, BufferPool.classSize(16 * K - 1));
        assertEquals(16 * K, BufferPool.classSize(16 * K));
        assertEquals(20 * K, BufferPool.classSize(16 * K + 1));
        assertEquals(24 * K, BufferPool.classSize(21 * K));
        assertEquals(32 * K, BufferPool.classSize(28 * K + 1));
        assertEquals(1024 * K, BufferPool.classSize(1024 * K));
        assertEquals(1280 * K, BufferPool.classSize(1024 * K + 1));
        long previous = 0;
        int previousIndex = -1;
        for (long n = 16 * K; n < 64L * K * K; n += 4093) {
            long c = BufferPool.classSize(n);
            assertTrue(c >= n && c <= n + n / 4, n + " -> " + c);
            assertEquals(c, BufferPool.classSize(c), "a class size is its own class");
            int i = BufferPool.classIndex(c);
            assertEquals(c, BufferPool.sizeOf(i));
            if (c != previous) {
                assertTrue(i > previousIndex, "classes are ordered");
                previous = c;
                previousIndex = i;
            }
        }
        assertEquals(1L << 62, BufferPool.sizeOf(BufferPool.classIndex(BufferPool.classSize(1L << 62))));
    }

    @Test
    void aGivenEntryIsTakenAgainLastInFirstOutAndCounted() {
        BufferPool p = pool(10 * 1024 * K);
        long c = BufferPool.classSize(100 * K);
        assertNull(p.take(0, c));
        assertEquals(1, p.misses());
        Entry a = new Entry(c);
        Entry b = new Entry(c);
        assertTrue(p.give(0, a, c, 0));
        assertTrue(p.give(0, b, c, 1));
        assertEquals(2 * c, p.idleBytes());
        assertNull(p.take(0, BufferPool.classSize(200 * K)), "another class");
        assertSame(b, p.take(0, c), "the warmest first");
        assertSame(a, p.take(0, c));
        assertNull(p.take(0, c));
        assertEquals(2, p.hits());
        assertEquals(3, p.misses());
        assertEquals(0, p.idleBytes());
        assertTrue(freed.isEmpty());
    }

    @Test
    void requestsUnderTheSmallestClassAreNotPooled() {
        BufferPool p = pool(10 * 1024 * K);
        assertFalse(p.give(0, new Entry(8 * K), 8 * K, 0));
        assertFalse(p.give(0, new Entry(17 * K), 17 * K, 0), "not a class size");
        assertNull(p.take(0, 8 * K));
        assertEquals(0, p.misses(), "not a pool request");
    }

    @Test
    void kindsNeverMix() {
        BufferPool p = pool(10 * 1024 * K);
        AtomicReference<Object> freedOther = new AtomicReference<>();
        int other = p.register((e, bytes) -> freedOther.set(e));
        assertEquals(1, other);
        assertNull(p.take(2, 64 * K), "a kind not registered");
        assertFalse(p.give(2, new Entry(64 * K), 64 * K, 0));
        assertEquals(0, p.misses());
        long c = 64 * K;
        Entry e = new Entry(c);
        assertTrue(p.give(other, e, c, 0));
        assertNull(p.take(0, c));
        assertEquals(c, p.trim(1));
        assertSame(e, freedOther.get(), "freed by its own kind's freer");
        assertTrue(freed.isEmpty());
    }

    @Test
    void theCapBoundsIdleBytes() {
        BufferPool p = pool(256 * K);
        long c = 64 * K;
        for (int i = 0; i < 4; i++) {
            assertTrue(p.give(0, new Entry(c), c, 0));
        }
        assertFalse(p.give(0, new Entry(c), c, 0), "over the cap: the caller frees it");
        assertFalse(p.give(0, new Entry(16 * K), 16 * K, 0));
        assertEquals(256 * K, p.idleBytes());
        assertEquals(4, takeAll(p, c));
        BufferPool none = pool(0);
        assertFalse(none.give(0, new Entry(c), c, 0), "max 0 holds nothing");
    }

    @Test
    void trimFreesLargestAndOldestFirstUntilEnough() {
        BufferPool p = pool(100 * 1024 * K);
        Entry small = new Entry(16 * K);
        Entry bigOld = new Entry(1024 * K);
        Entry bigNew = new Entry(1024 * K);
        p.give(0, small, 16 * K, 0);
        p.give(0, bigOld, 1024 * K, 1);
        p.give(0, bigNew, 1024 * K, 2);
        assertEquals(1024 * K, p.trim(1));
        assertEquals(List.of(bigOld), freed);
        assertEquals(1024 * K + 16 * K, p.idleBytes());
        assertEquals(1024 * K + 16 * K, p.trim(Long.MAX_VALUE));
        assertEquals(List.of(bigOld, bigNew, small), freed);
        assertEquals(0, p.idleBytes());
        assertEquals(3, p.dropped());
        assertEquals(0, p.trim(1), "nothing left");
    }

    @Test
    void idleTrimFreesOnlyWhatIdledLongEnough() {
        BufferPool p = pool(100 * 1024 * K);
        long c = 32 * K;
        Entry t100 = new Entry(c);
        Entry t200 = new Entry(c);
        Entry t900 = new Entry(c);
        p.give(0, t100, c, 100);
        p.give(0, t200, c, 200);
        p.give(0, t900, c, 900);
        assertEquals(0, p.trimIdle(1000, 1000), "nothing idle 1 s yet");
        assertEquals(2 * c, p.trimIdle(1250, 1000));
        assertEquals(List.of(t100, t200), freed);
        assertSame(t900, p.take(0, c));
        assertEquals(0, p.idleBytes());
    }

    @Test
    void eightThreadsTakeAndGiveWithoutHandingAnEntryOutTwice() throws Exception {
        BufferPool p = pool(8 * 1024 * K);
        long[] classes = {16 * K, 20 * K, 64 * K, 1024 * K};
        Set<Entry> out = ConcurrentHashMap.newKeySet();
        AtomicLong takes = new AtomicLong();
        AtomicLong created = new AtomicLong();
        AtomicLong notTaken = new AtomicLong();
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    List<Entry> mine = new ArrayList<>();
                    for (int i = 0; i < 20_000; i++) {
                        if (mine.isEmpty() || r.nextBoolean() && mine.size() < 8) {
                            long c = classes[r.nextInt(classes.length)];
                            takes.incrementAndGet();
                            Entry e = (Entry) p.take(0, c);
                            if (e == null) {
                                e = new Entry(c);
                                created.incrementAndGet();
                            }
                            if (e.size != c) {
                                throw new AssertionError("wrong class: " + e.size + " for " + c);
                            }
                            if (!out.add(e)) {
                                throw new AssertionError("entry handed out twice");
                            }
                            mine.add(e);
                        } else {
                            Entry e = mine.remove(r.nextInt(mine.size()));
                            out.remove(e);
                            if (!p.give(0, e, e.size, i)) {
                                notTaken.incrementAndGet();
                            }
                        }
                        if (i % 5000 == 0) {
                            p.trim(64 * K);
                        }
                    }
                    for (Entry e : mine) {
                        out.remove(e);
                        if (!p.give(0, e, e.size, 0)) {
                            notTaken.incrementAndGet();
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            th.start();
            threads.add(th);
        }
        start.countDown();
        for (Thread th : threads) {
            th.join();
        }
        assertTrue(errors.isEmpty(), () -> errors.toString());
        assertEquals(takes.get(), p.hits() + p.misses(), "every take counted once");
        assertEquals(created.get(), p.misses());
        // every entry made is idle in the pool, freed by trim, or was refused
        Map<Entry, Boolean> idle = new IdentityHashMap<>();
        long idleBytes = p.idleBytes();
        long sum = 0;
        for (long c : classes) {
            Object e;
            while ((e = p.take(0, c)) != null) {
                assertNull(idle.put((Entry) e, true), "an idle entry twice");
                sum += c;
            }
        }
        assertEquals(idleBytes, sum, "idle bytes exact");
        assertEquals(created.get(), idle.size() + freed.size() + notTaken.get());
        assertNotEquals(0, p.hits());
    }

    @Test
    void directBuffersAreFreedAtOnceAndTheirAddressRead() {
        ByteBuffer b = ByteBuffer.allocateDirect(64 * 1024);
        assertNotEquals(0, DirectBuffers.address(b));
        assertEquals(DirectBuffers.address(b), DirectBuffers.address(b.duplicate()));
        assertEquals(0, DirectBuffers.address(ByteBuffer.allocate(16)), "a heap buffer has none");
        assertTrue(DirectBuffers.canFree());
        assertTrue(DirectBuffers.free(b));
        assertFalse(DirectBuffers.free(ByteBuffer.allocateDirect(16).duplicate()), "only the buffer itself, not a view");
    }

    private static int takeAll(BufferPool p, long c) {
        int n = 0;
        while (p.take(0, c) != null) {
            n++;
        }
        return n;
    }
}
