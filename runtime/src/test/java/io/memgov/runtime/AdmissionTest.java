package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.log.EventLog;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillException;
import io.memgov.runtime.spill.SpillFile;
import io.memgov.runtime.spill.SpillStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Admission over the HOST limit (fail, wait, spill) and spill/restore through a fake spill bridge. */
class AdmissionTest {
    private static final int HOST = Tier.HOST.ordinal();
    private static final int DJL = Governor.FW_DJL;
    /** Spill file header + trailer (SpillStore's format: magic, version, id, length; CRC32C). */
    private static final long FILE_OVERHEAD = 4 + 4 + 8 + 8 + 4;

    @TempDir
    Path tmp;

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private MemoryGovernor g;
    private FakeBridge bridge;
    private Path spillDir;

    // ---------------------------------------------------------------- fakes

    /** An in-memory "framework tensor": its storage is {@link #data}. */
    static final class FakeTensor {
        final String name;
        final byte[] data;
        volatile boolean busy;
        volatile boolean spilled;
        volatile SpillFile file;

        FakeTensor(String name, byte[] data) {
            this.name = name;
            this.data = data;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /**
     * Spills a FakeTensor by writing its bytes to the store. It deliberately does not check pins
     * itself, so tests see whether the governor honours them.
     */
    static final class FakeBridge implements SpillBridge {
        final List<FakeTensor> spilled = new CopyOnWriteArrayList<>();
        final List<FakeTensor> calledFor = new CopyOnWriteArrayList<>();
        final AtomicInteger pinnedCalls = new AtomicInteger();
        final AtomicInteger nonSpillingCalls = new AtomicInteger();
        final AtomicInteger nullTensorCalls = new AtomicInteger();
        /** Gives up on a pinned tensor, as the contract asks of real bridges (needed under concurrency). */
        volatile boolean checkPins;
        /** Pool kind a spilled tensor's memory goes to (as ND4J's pooled blocks do); -1: none. */
        volatile int poolOnSpill = -1;
        /** Runs at the start of each spill, with the tensor's record (what another thread does meanwhile). */
        volatile java.util.function.Consumer<Object> onSpill;

        @Override
        public SpillFile spill(Object tensor, Object record, long id, SpillStore store) throws SpillException {
            FakeTensor t = (FakeTensor) tensor;
            if (t == null) {
                nullTensorCalls.incrementAndGet();
                return null;
            }
            calledFor.add(t);
            java.util.function.Consumer<Object> hook = onSpill;
            if (hook != null) {
                hook.accept(record);
            }
            if (((Tracked) record).state() != Tracked.SPILLING) {
                nonSpillingCalls.incrementAndGet();
            }
            if (Governor.pinned(record)) {
                pinnedCalls.incrementAndGet();
                if (checkPins) {
                    return null;
                }
            }
            if (t.busy) {
                return null;
            }
            SpillFile f = store.write(id, ByteBuffer.wrap(t.data));
            t.file = f;
            t.spilled = true;
            spilled.add(t);
            if (poolOnSpill >= 0) {
                Governor.poolGive(poolOnSpill, new Object(), io.memgov.runtime.pool.BufferPool.classSize(t.data.length));
            }
            return f;
        }
    }

    // ---------------------------------------------------------------- set-up

    private MemoryGovernor govern(String options) {
        spillDir = tmp.resolve("spill");
        ConfigLoader.Result r = new ConfigLoader(options + ",disk.dir=" + spillDir, new Properties(), Map.of(),
                tmp, 0, 1, tmp.toString()).load();
        assertTrue(r.errors().isEmpty(), () -> "config errors: " + r.errors());
        MemgovConfig config = r.config();
        g = new MemoryGovernor(config, new EventLog(lines::add, LogFormat.TEXT, LogLevel.DEBUG));
        Governor.install(g);
        bridge = new FakeBridge();
        Governor.registerSpillBridge(DJL, bridge);
        return g;
    }

    @AfterEach
    void uninstall() throws Exception {
        Teardown.uninstall(g);
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Allocates {@code n} HOST bytes and keeps a fake tensor for them (spillable). */
    private static Object kept(FakeTensor t) {
        Object r = Governor.allocate(DJL, HOST, 0, t.data.length);
        assertNotNull(r);
        Governor.keep(r, t);
        return r;
    }

    private static int state(Object record) {
        return ((Tracked) record).state();
    }

    private long snap(String key) {
        return (Long) g.snapshot().get(key);
    }

    private long spillFilesOnDisk() throws IOException {
        if (!Files.exists(spillDir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(spillDir)) {
            return s.count();
        }
    }

    private long spillBytesOnDisk() throws IOException {
        if (!Files.exists(spillDir)) {
            return 0;
        }
        long n = 0;
        try (Stream<Path> s = Files.list(spillDir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                n += Files.size(p);
            }
        }
        return n;
    }

    /** Restores {@code r} if spilled, verifying the bytes; returns whether a restore was done. */
    private static boolean restore(Object r, FakeTensor t) throws SpillException {
        if (!Governor.beginRestore(r)) {
            return false;
        }
        boolean ok = false;
        try {
            ByteBuffer buf = ByteBuffer.allocate(t.data.length);
            Governor.readSpill(r, buf);
            assertEquals(t.data.length, buf.position());
            assertArrayEquals(t.data, buf.array(), "restored bytes of " + t);
            t.spilled = false;
            ok = true;
        } finally {
            Governor.endRestore(r, ok);
        }
        return true;
    }

    /** Touches records in order, each strictly later on the governor's coarse clock than the one before. */
    private static void touchInOrder(Object... records) throws InterruptedException {
        int last = Integer.MIN_VALUE;
        for (Object r : records) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            do {
                Thread.sleep(12);
                Governor.touch(r);
            } while (((Tracked) r).lastAccessMillis() <= last && System.nanoTime() < deadline);
            assertTrue(((Tracked) r).lastAccessMillis() > last, "the governor's clock did not advance");
            last = ((Tracked) r).lastAccessMillis();
        }
    }

    private static void awaitWaiting(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (t.getState() != Thread.State.TIMED_WAITING && t.getState() != Thread.State.WAITING) {
            if (System.nanoTime() > deadline || !t.isAlive()) {
                fail("the allocating thread did not block; state " + t.getState());
            }
            Thread.sleep(2);
        }
    }

    private boolean logged(String... parts) {
        return lines.stream().anyMatch(l -> Arrays.stream(parts).allMatch(l::contains));
    }

    // ---------------------------------------------------------------- fail

    @Test
    void failOverTheLimitCountsNothing() {
        govern("host.limit=1000,on-limit=fail");
        Object a = Governor.allocate(DJL, HOST, 0, 600);
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(DJL, HOST, 0, 500));
        String m = e.getMessage();
        assertTrue(m.startsWith("memgov: HOST limit reached: requested 500 bytes"), m);
        assertTrue(m.contains("HOST holds 600 bytes"), m);
        assertTrue(m.contains("limit of 1000 bytes"), m);
        assertTrue(m.contains("on-limit=fail"), m);
        assertEquals(600, g.host().used());
        assertEquals(600L, snap("host.used.djl"));
        assertEquals(1, g.allocations());
        assertEquals(1, g.live());
        assertEquals(1, g.failures());
        assertEquals(1L, snap("failures"));
        assertEquals(1L, snap("limit.hits"));
        assertTrue(logged("event=limit", "action=fail", "requested=500", "used=600", "limit=1000"), lines::toString);
        // what fits is still admitted
        Object b = Governor.allocate(DJL, HOST, 0, 400);
        assertEquals(1000, g.host().used());
        Governor.release(a);
        Governor.release(b);
        assertEquals(0, g.host().used());
    }

    @Test
    void requestLargerThanTheLimitFailsAtOnceEvenWithWait() {
        govern("host.limit=1000,on-limit=wait,wait.timeout=10s");
        long t0 = System.nanoTime();
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(DJL, HOST, 0, 1001));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 200, "failed after " + ms + " ms: it waited");
        String m = e.getMessage();
        assertTrue(m.startsWith("memgov: HOST limit reached: requested 1001 bytes"), m);
        assertTrue(m.contains("the request alone is larger than the limit"), m);
        assertEquals(0, g.host().used());
        assertEquals(1, g.failures());
    }

    @Test
    void requestLargerThanTheLimitFailsAtOnceEvenWithSpill() {
        govern("host.limit=1000,on-limit=spill,wait.timeout=10s");
        Object a = kept(new FakeTensor("a", bytes(500, 1)));
        long t0 = System.nanoTime();
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(DJL, HOST, 0, 1001));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 200, "failed after " + ms + " ms: it waited");
        assertTrue(e.getMessage().contains("the request alone is larger than the limit"), e.getMessage());
        assertTrue(bridge.calledFor.isEmpty(), "nothing is spilled for a request that can never fit");
        assertEquals(Tracked.RESIDENT, state(a));
        assertEquals(500, g.host().used());
    }

    // ---------------------------------------------------------------- wait

    @Test
    void waitProceedsWhenAnotherThreadReleases() throws Exception {
        govern("host.limit=1000,on-limit=wait,wait.timeout=5s");
        Object big = Governor.allocate(DJL, HOST, 0, 800);
        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<Object> got = new AtomicReference<>();
        AtomicReference<Throwable> err = new AtomicReference<>();
        AtomicLong blockedNanos = new AtomicLong();
        Thread t = new Thread(() -> {
            started.countDown();
            long t0 = System.nanoTime();
            try {
                got.set(Governor.allocate(DJL, HOST, 0, 400));
            } catch (Throwable e) {
                err.set(e);
            }
            blockedNanos.set(System.nanoTime() - t0);
        });
        t.start();
        assertTrue(started.await(2, TimeUnit.SECONDS));
        awaitWaiting(t);
        Thread.sleep(50);
        assertTrue(t.isAlive(), "it did not block");
        assertEquals(800, g.host().used(), "nothing admitted while blocked");
        long releasedAt = System.nanoTime();
        Governor.release(big);
        t.join(2000);
        assertFalse(t.isAlive(), "still blocked after the release");
        assertNull(err.get());
        assertNotNull(got.get());
        assertTrue(blockedNanos.get() >= TimeUnit.MILLISECONDS.toNanos(50), "blocked " + blockedNanos.get() + " ns");
        assertTrue(System.nanoTime() - releasedAt < TimeUnit.SECONDS.toNanos(2));
        assertEquals(400, g.host().used());
        assertEquals(0, g.failures());
        Governor.release(got.get());
        assertEquals(0, g.host().used());
    }

    @Test
    void waitFailsAfterTheTimeout() {
        govern("host.limit=1000,on-limit=wait,wait.timeout=300ms");
        Governor.allocate(DJL, HOST, 0, 800);
        long t0 = System.nanoTime();
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(DJL, HOST, 0, 400));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 300, "failed after " + ms + " ms, before wait.timeout");
        assertTrue(ms < 3000, "failed after " + ms + " ms");
        String m = e.getMessage();
        assertTrue(m.startsWith("memgov: HOST limit reached: requested 400 bytes"), m);
        assertTrue(m.contains("on-limit=wait"), m);
        assertTrue(m.contains("nothing was released within memgov.wait.timeout=300ms"), m);
        assertEquals(800, g.host().used());
        assertEquals(1, g.failures());
        assertTrue(logged("event=limit", "action=wait"), lines::toString);
    }

    // ---------------------------------------------------------------- spill

    @Test
    void spillsLeastRecentlyUsedFirstDownToTheLowWatermark() throws Exception {
        govern("host.limit=1000,on-limit=spill,spill.low-watermark=0.5,wait.timeout=1s");
        g.startBackground(0);
        FakeTensor ta = new FakeTensor("a", bytes(300, 1));
        FakeTensor tb = new FakeTensor("b", bytes(300, 2));
        FakeTensor tc = new FakeTensor("c", bytes(300, 3));
        Object a = kept(ta);
        Object b = kept(tb);
        Object c = kept(tc);
        touchInOrder(b, c, a); // LRU order: b, c, a
        assertTrue(Governor.spillMode());

        Object d = Governor.allocate(DJL, HOST, 0, 300);
        assertNotNull(d);
        // target: min(0.5 * 1000, 1000 - 300) = 500: b (900 -> 600), then c (600 -> 300); a stays
        assertEquals(List.of(tb, tc), bridge.spilled);
        assertEquals(Tracked.SPILLED, state(b));
        assertEquals(Tracked.SPILLED, state(c));
        assertEquals(Tracked.RESIDENT, state(a));
        assertFalse(ta.spilled);
        assertEquals(600, g.host().used());
        assertTrue(g.host().used() <= g.host().limit());
        assertEquals(600L, snap("host.used.djl"));
        assertEquals(2 * (300 + FILE_OVERHEAD), g.disk().used());
        assertEquals(g.disk().used(), spillBytesOnDisk());
        assertEquals(2, spillFilesOnDisk());
        assertEquals(600, tb.file.length() + tc.file.length());
        assertEquals(2L, snap("spills"));
        assertEquals(600L, snap("spill.bytes"));
        assertEquals(0L, snap("failures"));
        assertEquals(4L, snap("live"), "spilled tensors are still live");
        assertEquals(0, bridge.pinnedCalls.get());
        assertEquals(0, bridge.nonSpillingCalls.get());
        assertTrue(logged("event=spill", "bytes=300", "from=host", "to=disk"), lines::toString);

        for (Object r : new Object[] {a, b, c, d}) {
            Governor.release(r);
        }
        assertEquals(0, g.host().used());
        assertEquals(0, g.disk().used());
        assertEquals(0, spillFilesOnDisk());
    }

    @Test
    void spillsAtLeastEnoughForTheRequest() throws Exception {
        govern("host.limit=1000,on-limit=spill,spill.low-watermark=1,wait.timeout=1s");
        g.startBackground(0);
        FakeTensor ta = new FakeTensor("a", bytes(300, 1));
        FakeTensor tb = new FakeTensor("b", bytes(300, 2));
        FakeTensor tc = new FakeTensor("c", bytes(300, 3));
        Object a = kept(ta);
        Object b = kept(tb);
        Object c = kept(tc);
        touchInOrder(c, a, b);
        Governor.allocate(DJL, HOST, 0, 300);
        // target: min(1000, 700) = 700: only c (900 -> 600)
        assertEquals(List.of(tc), bridge.spilled);
        assertEquals(Tracked.SPILLED, state(c));
        assertEquals(Tracked.RESIDENT, state(a));
        assertEquals(Tracked.RESIDENT, state(b));
        assertEquals(900, g.host().used());
        assertEquals(300 + FILE_OVERHEAD, g.disk().used());
    }

    @Test
    void aViewMadeAfterTheSpillerChoseItsVictimsKeepsThatStorageResident() throws Exception {
        // a view made while the spiller works (another thread indexing the array) shares the storage:
        // spilling it would free memory the view goes on reading (SpillStress saw another array's values)
        govern("host.limit=1000,on-limit=spill,spill.low-watermark=1,wait.timeout=1s");
        g.startBackground(0);
        FakeTensor ta = new FakeTensor("a", bytes(300, 1));
        FakeTensor tb = new FakeTensor("b", bytes(300, 2));
        FakeTensor tc = new FakeTensor("c", bytes(300, 3));
        Object a = kept(ta);
        Object b = kept(tb);
        Object c = kept(tc);
        touchInOrder(a, b, c); // LRU order: a, b, c
        AtomicReference<Object> view = new AtomicReference<>();
        bridge.onSpill = r -> {
            if (r == a) {
                view.set(Governor.share(b)); // b, chosen next, gets a view now
            }
        };
        Object d = Governor.allocate(DJL, HOST, 0, 600); // needs two spills: a, then c (b is shared)
        assertNotNull(view.get());
        assertEquals(List.of(ta, tc), bridge.spilled);
        assertEquals(Tracked.SPILLED, state(a));
        assertEquals(Tracked.RESIDENT, state(b));
        assertEquals(Tracked.SPILLED, state(c));
        assertTrue(Governor.inUse(b), "b is shared by the view");
        Governor.release(view.get());
        assertFalse(Governor.inUse(b), "b has one array again");
        Governor.release(d);
    }

    @Test
    void pinnedAndBusyTensorsAreNeverSpilledThenWaitThenFail() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=200ms");
        FakeTensor ta = new FakeTensor("a", bytes(400, 1));
        FakeTensor tb = new FakeTensor("b", bytes(400, 2));
        Object a = kept(ta);
        Object b = kept(tb);
        Governor.pin(a);
        assertTrue(Governor.pinned(a));
        tb.busy = true;

        long t0 = System.nanoTime();
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(DJL, HOST, 0, 400));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 200, "failed after " + ms + " ms, before wait.timeout");
        String m = e.getMessage();
        assertTrue(m.startsWith("memgov: HOST limit reached: requested 400 bytes"), m);
        assertTrue(m.contains("on-limit=spill"), m);
        assertTrue(m.contains("nothing more could be spilled"), m);
        assertTrue(m.contains("memgov.wait.timeout=200ms"), m);

        assertFalse(bridge.calledFor.contains(ta), "the bridge was asked to spill a pinned tensor");
        assertEquals(0, bridge.pinnedCalls.get());
        assertTrue(bridge.calledFor.contains(tb), "the busy tensor was never tried");
        assertTrue(bridge.spilled.isEmpty());
        assertEquals(Tracked.RESIDENT, state(a));
        assertEquals(Tracked.RESIDENT, state(b));
        assertEquals(800, g.host().used());
        assertEquals(0, g.disk().used());
        assertEquals(0, spillFilesOnDisk());
        assertEquals(0L, snap("spills"));
        assertEquals(1L, snap("failures"));
        Governor.unpin(a);
        assertFalse(Governor.pinned(a));
    }

    @Test
    void aTensorUnpinnedWhileWaitingIsSpilled() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=5s");
        FakeTensor ta = new FakeTensor("a", bytes(400, 1));
        Object a = kept(ta);
        Object plain = Governor.allocate(DJL, HOST, 0, 400); // no tensor kept: not spillable
        Governor.pin(a);
        AtomicReference<Object> got = new AtomicReference<>();
        AtomicReference<Throwable> err = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                got.set(Governor.allocate(DJL, HOST, 0, 400));
            } catch (Throwable e) {
                err.set(e);
            }
        });
        t.start();
        awaitWaiting(t);
        Thread.sleep(50);
        assertTrue(t.isAlive(), "it did not wait");
        assertTrue(bridge.spilled.isEmpty());
        Governor.unpin(a);
        t.join(2000);
        assertFalse(t.isAlive(), "still waiting after the unpin");
        assertNull(err.get());
        assertNotNull(got.get());
        assertEquals(List.of(ta), bridge.spilled);
        assertEquals(Tracked.SPILLED, state(a));
        assertEquals(Tracked.RESIDENT, state(plain));
        assertEquals(800, g.host().used());
    }

    // ---------------------------------------------------------------- restore

    /** a (300, kept) is spilled by an allocation of c; c is then released. HOST holds b (500). */
    private Object spilledA(FakeTensor ta) {
        Object a = kept(ta);
        Object b = Governor.allocate(DJL, HOST, 0, 500);
        Object c = Governor.allocate(DJL, HOST, 0, 400);
        assertEquals(List.of(ta), bridge.spilled);
        assertEquals(Tracked.SPILLED, state(a));
        assertEquals(Tracked.RESIDENT, state(b));
        Governor.release(c);
        assertEquals(500, g.host().used());
        assertEquals(300 + FILE_OVERHEAD, g.disk().used());
        return a;
    }

    @Test
    void restoreAdmitsReadsAndKeepsTheFileAsACleanCopy() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=1s");
        FakeTensor ta = new FakeTensor("a", bytes(300, 42));
        Object a = spilledA(ta);
        Path file = ta.file.path();
        assertTrue(Files.exists(file));

        assertTrue(Governor.beginRestore(a));
        assertEquals(Tracked.RESTORING, state(a));
        assertEquals(800, g.host().used(), "the restored bytes are admitted on HOST");
        assertEquals(800L, snap("host.used.djl"));
        ByteBuffer buf = ByteBuffer.allocate(300);
        Governor.readSpill(a, buf);
        assertEquals(300, buf.position());
        assertArrayEquals(ta.data, buf.array());
        Governor.endRestore(a, true);

        assertEquals(Tracked.RESIDENT, state(a));
        assertTrue(Files.exists(file), "the spill file is kept: a clean copy while the bytes do not change");
        assertEquals(300 + FILE_OVERHEAD, g.disk().used());
        assertEquals(1, g.spillStore().files());
        assertEquals(1L, snap("restores"));
        assertEquals(300L, snap("restore.bytes"));
        assertEquals(800, g.host().used());
        assertTrue(logged("event=restore", "bytes=300", "from=disk", "to=host"), lines::toString);

        assertFalse(Governor.beginRestore(a), "a resident record needs no restore");
        assertEquals(800, g.host().used());
        assertEquals(1L, snap("restores"));

        Governor.release(a);
        assertFalse(Files.exists(file), "the copy goes with the tensor");
        assertEquals(0, g.disk().used());
        assertEquals(0, g.spillStore().files());
    }

    @Test
    void anUnchangedRestoredTensorSpillsWithoutWritingAndAChangedOneWritesAgain() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=1s");
        FakeTensor ta = new FakeTensor("a", bytes(300, 11));
        Object a = spilledA(ta);
        Path file = ta.file.path();
        assertTrue(restore(a, ta));

        Object d = Governor.allocate(DJL, HOST, 0, 400); // 500 + 300 + 400 > 1000: a goes again
        assertEquals(Tracked.SPILLED, state(a));
        assertEquals(file, ta.file.path(), "the same file");
        assertEquals(1, g.spillStore().files());
        assertEquals(300 + FILE_OVERHEAD, g.disk().used());
        assertEquals(2L, snap("spills"));
        assertEquals(1L, snap("spills.clean"));
        assertEquals(300L, snap("spill.clean.bytes"));
        assertTrue(logged("event=spill", "bytes=300", "clean=true"), lines::toString);
        Governor.release(d);

        assertTrue(restore(a, ta));
        ta.data[299] ^= 0x10; // the application changes one bit
        Object e = Governor.allocate(DJL, HOST, 0, 400);
        assertEquals(Tracked.SPILLED, state(a));
        assertNotEquals(file, ta.file.path(), "changed bytes: a new file");
        assertFalse(Files.exists(file), "the stale copy is gone");
        assertEquals(1, g.spillStore().files());
        assertEquals(3L, snap("spills"));
        assertEquals(1L, snap("spills.clean"));
        Governor.release(e);
        assertTrue(restore(a, ta), "restores the changed bytes (restore() checks them)");
        Governor.release(a);
        assertEquals(0, g.spillStore().files());
        assertEquals(0, g.disk().used());
    }

    @Test
    void memorySpillsGiveToThePoolCountsAsFreedSoNoMoreIsSpilledThanNeeded() throws Exception {
        govern("host.limit=1m,on-limit=spill,wait.timeout=1s");
        bridge.poolOnSpill = Governor.poolKind((entry, bytes) -> { });
        List<Object> records = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            records.add(kept(new FakeTensor("t" + i, bytes(200 << 10, 20 + i)))); // 1000 KiB in all
        }
        // 100 KiB more: down to the low watermark (819.2 KiB) takes one spill; its memory, pooled,
        // still counts on HOST until the admission trims it
        Object more = Governor.allocate(DJL, HOST, 0, 100 << 10);
        assertEquals(1, bridge.spilled.size(), "spilled: " + bridge.spilled);
        assertEquals(Tracked.SPILLED, state(records.get(0)));
        assertEquals(900L << 10, g.host().used());
        assertEquals(0L, snap("pool.bytes"), "the pooled memory was trimmed for the request");
        Governor.release(more);
        for (Object r : records) {
            Governor.release(r);
        }
    }

    @Test
    void aRestoredTensorIsSpilledBeforeTensorsUsedSinceUntilItIsUsedAgain() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=1s");
        g.startBackground(0); // the clock
        FakeTensor ta = new FakeTensor("a", bytes(300, 12));
        Object a = spilledA(ta); // HOST: b (500, not kept)
        FakeTensor tf = new FakeTensor("f", bytes(100, 13));
        Object f = kept(tf); // 600
        touchInOrder(f);
        assertTrue(restore(a, ta)); // 900: a came back after f's last use
        // plain LRU would spill f (used before a came back); a, still on probation, goes first
        Object x = Governor.allocate(DJL, HOST, 0, 300);
        assertEquals(Tracked.SPILLED, state(a));
        assertEquals(Tracked.RESIDENT, state(f));
        Governor.release(x);

        assertTrue(restore(a, ta));
        touchInOrder(f, a); // a used again, in a later tick: an ordinary member of the LRU order now
        Object y = Governor.allocate(DJL, HOST, 0, 150); // down to 800: one victim is enough
        assertEquals(Tracked.SPILLED, state(f), "f is now the least recently used");
        assertEquals(Tracked.RESIDENT, state(a));
        Governor.release(y);
        for (Object r : new Object[] {a, f}) {
            Governor.release(r);
        }
    }

    @Test
    void failedRestoreLeavesItSpilledAndGivesHostBytesBack() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=1s");
        FakeTensor ta = new FakeTensor("a", bytes(300, 7));
        Object a = spilledA(ta);
        Path file = ta.file.path();

        assertTrue(Governor.beginRestore(a));
        assertEquals(800, g.host().used());
        Governor.endRestore(a, false);
        assertEquals(Tracked.SPILLED, state(a));
        assertEquals(500, g.host().used());
        assertEquals(500L, snap("host.used.djl"));
        assertTrue(Files.exists(file));
        assertEquals(300 + FILE_OVERHEAD, g.disk().used());
        assertEquals(0L, snap("restores"));

        // it can still be restored
        assertTrue(restore(a, ta));
        assertEquals(Tracked.RESIDENT, state(a));
        assertEquals(800, g.host().used());
        assertEquals(300 + FILE_OVERHEAD, g.disk().used(), "its file is kept as a clean copy");
    }

    @Test
    void releaseOfASpilledRecordDeletesItsFileOnly() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=1s");
        FakeTensor ta = new FakeTensor("a", bytes(300, 9));
        Object a = spilledA(ta);
        Path file = ta.file.path();
        long releases = g.releases();
        int live = g.ledger().size();

        Governor.release(a);
        assertEquals(500, g.host().used(), "HOST did not hold the spilled bytes");
        assertEquals(500L, snap("host.used.djl"));
        assertEquals(0, g.disk().used());
        assertFalse(Files.exists(file));
        assertEquals(0, spillFilesOnDisk());
        assertEquals(releases + 1, g.releases());
        assertEquals(live - 1, g.ledger().size());
        assertEquals(Tracked.FREED, state(a));
        assertFalse(Governor.beginRestore(a), "a released record is gone");
        assertEquals(500, g.host().used());
    }

    // ---------------------------------------------------------------- disk limit

    @Test
    void fullDiskSkipsSpillingAndLosesNothing() throws Exception {
        govern("host.limit=1000,on-limit=spill,disk.limit=100,wait.timeout=200ms");
        FakeTensor ta = new FakeTensor("a", bytes(300, 5));
        Object a = kept(ta);
        long t0 = System.nanoTime();
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(DJL, HOST, 0, 800));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 200, "failed after " + ms + " ms, before wait.timeout");
        assertTrue(e.getMessage().contains("nothing more could be spilled"), e.getMessage());
        assertTrue(snap("disk.failures") >= 1, "disk failures not counted");
        assertTrue(bridge.calledFor.contains(ta));
        assertTrue(bridge.spilled.isEmpty());
        assertFalse(ta.spilled);
        assertEquals(Tracked.RESIDENT, state(a));
        assertEquals(300, g.host().used());
        assertEquals(0, g.disk().used());
        assertEquals(0, spillFilesOnDisk());
        assertEquals(0L, snap("spills"));
        assertTrue(logged("cannot spill tensor"), lines::toString);
        // the tensor is intact and releasable
        Governor.release(a);
        assertEquals(0, g.host().used());
    }

    // ---------------------------------------------------------------- concurrency

    @Test
    void concurrentAllocateSpillRestoreRelease() throws Exception {
        final long limit = 16 * 1024;
        govern("host.limit=" + limit + ",on-limit=spill,wait.timeout=500ms");
        bridge.checkPins = true;
        final int threads = 8;
        final int iterations = 200;
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        AtomicInteger ooms = new AtomicInteger();
        AtomicInteger restores = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        CyclicBarrier filled = new java.util.concurrent.CyclicBarrier(threads);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            final int seed = i;
            Thread w = new Thread(() -> {
                Random rnd = new Random(seed);
                List<Object> recs = new ArrayList<>();
                List<FakeTensor> tensors = new ArrayList<>();
                try {
                    go.await();
                    // every thread first holds 4 tensors: together at least 32 KiB, twice the limit, so
                    // spilling is certain before any thread goes on
                    for (int k = 0; k < 4; k++) {
                        FakeTensor t = new FakeTensor("f" + seed + "." + k, bytes(1024 + rnd.nextInt(3072), rnd.nextLong()));
                        try {
                            Object r = Governor.allocate(DJL, HOST, 0, t.data.length);
                            Governor.keep(r, t);
                            recs.add(r);
                            tensors.add(t);
                        } catch (MemgovOutOfMemoryError e) {
                            ooms.incrementAndGet();
                        }
                    }
                    filled.await(10, TimeUnit.SECONDS);
                    for (int it = 0; it < iterations; it++) {
                        int op = rnd.nextInt(10);
                        try {
                            if (recs.size() < 4 && op < 5) {
                                FakeTensor t = new FakeTensor("t" + seed + "." + it, bytes(1024 + rnd.nextInt(3072), rnd.nextLong()));
                                Object r = Governor.allocate(DJL, HOST, 0, t.data.length);
                                Governor.keep(r, t);
                                recs.add(r);
                                tensors.add(t);
                            } else if (!recs.isEmpty() && op < 8) {
                                int k = rnd.nextInt(recs.size());
                                Object r = recs.get(k);
                                if (restore(r, tensors.get(k))) {
                                    restores.incrementAndGet();
                                }
                                Governor.pin(r);
                                try {
                                    Governor.touch(r);
                                } finally {
                                    Governor.unpin(r);
                                }
                            } else if (!recs.isEmpty()) {
                                int k = rnd.nextInt(recs.size());
                                Governor.release(recs.remove(k));
                                tensors.remove(k);
                            }
                        } catch (MemgovOutOfMemoryError e) {
                            ooms.incrementAndGet();
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                } finally {
                    for (Object r : recs) {
                        Governor.release(r);
                    }
                }
            }, "admission-" + i);
            workers.add(w);
            w.start();
        }
        go.countDown();
        for (Thread w : workers) {
            w.join(20_000);
            assertFalse(w.isAlive(), w.getName() + " is stuck");
        }
        if (!errors.isEmpty()) {
            AssertionError ae = new AssertionError("unexpected exceptions: " + errors);
            errors.forEach(ae::addSuppressed);
            throw ae;
        }
        assertEquals(0, g.host().used(), "host.used after releasing everything");
        assertEquals(0L, snap("host.used.djl"));
        assertEquals(0, g.disk().used(), "disk.used after releasing everything");
        assertEquals(0, g.spillStore().files());
        assertEquals(0, spillFilesOnDisk());
        assertEquals(0, g.ledger().size());
        assertEquals(g.allocations(), g.releases());
        assertTrue(g.host().peak() <= limit, "host.peak " + g.host().peak() + " over the limit " + limit);
        assertTrue(snap("spills") > 0, "the test never spilled");
        assertTrue(ooms.get() < threads * iterations / 10, "too many failures: " + ooms.get());
        assertEquals((long) restores.get(), snap("restores"));
        assertEquals(0, bridge.nonSpillingCalls.get(), "the bridge was called for a storage not marked SPILLING");
        assertEquals(0, bridge.nullTensorCalls.get(), "the bridge was called for a released storage");
    }
}
