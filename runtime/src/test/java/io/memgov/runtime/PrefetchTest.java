package io.memgov.runtime;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.log.EventLog;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillException;
import io.memgov.runtime.spill.SpillFile;
import io.memgov.runtime.spill.SpillStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Restores ahead of use over a fake framework: what is learned, fetched, hit and wasted. */
class PrefetchTest {
    static final int DJL = Governor.FW_DJL;
    static final int SIZE = 64 << 10;

    @TempDir
    Path tmp;
    MemoryGovernor g;
    final List<String> lines = new CopyOnWriteArrayList<>();

    /** A fake tensor: its storage is {@code data} (zeroed while spilled, so a restore must bring it back). */
    static final class Tensor {
        final byte[] expected;
        final byte[] data;

        Tensor(long seed) {
            expected = new byte[SIZE];
            new Random(seed).nextBytes(expected);
            data = expected.clone();
        }
    }

    /** Spills by writing the bytes; restores ahead of use by reading them back, as a demand use would. */
    static final class Bridge implements SpillBridge {
        final AtomicInteger ahead = new AtomicInteger();

        @Override
        public SpillFile spill(Object tensor, Object record, long id, SpillStore store) throws SpillException {
            Tensor t = (Tensor) tensor;
            if (Governor.pinned(record)) {
                return null;
            }
            SpillFile f = store.write(id, ByteBuffer.wrap(t.data));
            Arrays.fill(t.data, (byte) 0);
            return f;
        }

        @Override
        public boolean restoreAhead(Object tensor, Object record) {
            ahead.incrementAndGet();
            read((Tensor) tensor, record);
            return true;
        }
    }

    static void read(Tensor t, Object record) {
        boolean ok = false;
        try {
            ByteBuffer b = ByteBuffer.wrap(t.data);
            Governor.readSpill(record, b);
            ok = true;
        } catch (SpillException e) {
            throw new IllegalStateException(e);
        } finally {
            Governor.endRestore(record, ok);
        }
    }

    Bridge govern(String options) {
        ConfigLoader.Result r = new ConfigLoader(options + ",disk.dir=" + tmp.resolve("spill"), new Properties(), Map.of(),
                tmp, 0, 1, tmp.toString()).load();
        assertTrue(r.errors().isEmpty(), () -> "config errors: " + r.errors());
        g = new MemoryGovernor(r.config(), new EventLog(lines::add, LogFormat.TEXT, LogLevel.INFO));
        Governor.install(g);
        Bridge bridge = new Bridge();
        Governor.registerSpillBridge(DJL, bridge);
        g.startBackground(0);
        return bridge;
    }

    @AfterEach
    void uninstall() throws Exception {
        Teardown.uninstall(g);
    }

    /** A use: a spilled tensor is restored on this thread first (a demand restore), then its bytes are checked. */
    static void use(Object record, Tensor t) throws InterruptedException {
        Governor.pin(record);
        try {
            Governor.touch(record);
            if (Governor.away(record) && Governor.beginRestore(record)) {
                read(t, record);
            }
            assertArrayEquals(t.expected, t.data, "a use sees every byte the tensor had");
        } finally {
            Governor.unpin(record);
        }
        Thread.sleep(1); // the application computes: time for the prefetch thread
    }

    Object[] allocate(Tensor[] ts) {
        Object[] rs = new Object[ts.length];
        for (int i = 0; i < ts.length; i++) {
            ts[i] = new Tensor(i);
            rs[i] = Governor.allocate(DJL, 0, 0, SIZE);
            Governor.keep(rs[i], ts[i]);
        }
        return rs;
    }

    long figure(String key) {
        return (Long) g.snapshot().get(key);
    }

    @Test
    void passesInTheSameOrderAreFetchedAheadAndHit() throws Exception {
        Bridge bridge = govern("host.limit=" + 8 * SIZE);
        Tensor[] ts = new Tensor[16];
        Object[] rs = allocate(ts);
        for (int pass = 0; pass < 12; pass++) {
            for (int i = 0; i < ts.length; i++) {
                use(rs[i], ts[i]);
            }
        }
        long prefetches = figure("prefetches");
        assertTrue(prefetches > 0 && bridge.ahead.get() > 0, g.snapshot().toString());
        assertTrue(figure("prefetch.hits") > prefetches / 2, "most fetched tensors are used: " + g.snapshot());
        assertTrue(figure("prefetch.wasted") <= prefetches / 4, g.snapshot().toString());
        assertEquals(prefetches * SIZE, figure("prefetch.bytes"));
        assertTrue(figure("host.peak") <= 8 * SIZE, "prefetches fill headroom under the limit only");
    }

    @Test
    void randomAccessLearnsNothingToFetch() throws Exception {
        govern("host.limit=" + 8 * SIZE);
        Tensor[] ts = new Tensor[16];
        Object[] rs = allocate(ts);
        Random rnd = new Random(3);
        for (int k = 0; k < 200; k++) {
            int i = rnd.nextInt(ts.length);
            use(rs[i], ts[i]);
        }
        long prefetches = figure("prefetches");
        assertTrue(figure("prefetch.wasted") <= Math.max(1, prefetches / 10),
                "a guess that does not repeat is not followed: " + g.snapshot());
        assertTrue(figure("restores") > 50, g.snapshot().toString());
    }

    @Test
    void offFetchesNothing() throws Exception {
        Bridge bridge = govern("host.limit=" + 8 * SIZE + ",prefetch=off");
        Tensor[] ts = new Tensor[16];
        Object[] rs = allocate(ts);
        for (int pass = 0; pass < 6; pass++) {
            for (int i = 0; i < ts.length; i++) {
                use(rs[i], ts[i]);
            }
        }
        assertEquals(0, figure("prefetches"));
        assertEquals(0, bridge.ahead.get());
    }
    /**
     * Like ND4J's bridge: a spill gives the tensor's block to the pool, a restore takes one from it. A
     * prefetch short of headroom gets the idle block handed to its restore (not freed and allocated
     * anew on the prefetch thread), and HOST stays within its limit.
     */
    @Test
    void aPrefetchShortOfHeadroomHandsAnIdlePooledBlockToItsRestore() throws Exception {
        java.util.concurrent.atomic.AtomicInteger freed = new java.util.concurrent.atomic.AtomicInteger();
        AtomicInteger handed = new AtomicInteger();
        int[] kind = {-1};
        SpillBridge pooled = new SpillBridge() {
            @Override
            public SpillFile spill(Object tensor, Object record, long id, SpillStore store) throws SpillException {
                if (Governor.pinned(record)) {
                    return null;
                }
                SpillFile f = store.write(id, ByteBuffer.wrap(((Tensor) tensor).data));
                Governor.poolGive(kind[0], new byte[SIZE], SIZE); // the block it lived in
                return f;
            }

            @Override
            public int restorePoolKind() {
                return kind[0];
            }

            @Override
            public boolean restoreAhead(Object tensor, Object record) {
                if (Governor.poolTake(kind[0], SIZE) != null) {
                    handed.incrementAndGet();
                }
                read((Tensor) tensor, record);
                return true;
            }
        };
        govern("host.limit=" + 8 * SIZE);
        kind[0] = g.pool().register((entry, bytes) -> freed.incrementAndGet());
        Governor.registerSpillBridge(DJL, pooled);
        Tensor[] ts = new Tensor[16];
        Object[] rs = allocate(ts);
        for (int pass = 0; pass < 12; pass++) {
            for (int i = 0; i < ts.length; i++) {
                use(rs[i], ts[i]);
            }
        }
        assertTrue(figure("prefetches") > 0, g.snapshot().toString());
        assertTrue(handed.get() > 0, "restores ahead took pooled blocks: " + g.snapshot());
        assertTrue(figure("host.peak") <= 8 * SIZE, g.snapshot().toString());
        assertTrue(figure("host.used") >= figure("pool.bytes"), "pooled bytes are counted on HOST: " + g.snapshot());
    }
    /** A window of prefetches whose uses mostly waited for them pauses prefetching; one that did not, does not. */
    @Test
    void prefetchesThatOnlyRaceTheirUsesPause() {
        Prefetcher p = new Prefetcher(null);
        assertTrue(p.worthIt());
        p.prefetches.addAndGet(Prefetcher.WINDOW);
        p.waited.addAndGet(Prefetcher.WINDOW / 10);
        assertTrue(p.worthIt(), "a tenth waited for: ahead of use");
        assertEquals(0, p.pauses.get());
        p.prefetches.addAndGet(Prefetcher.WINDOW);
        p.waited.addAndGet(Prefetcher.WINDOW / 2);
        assertTrue(!p.worthIt(), "half waited for: racing the application");
        assertEquals(1, p.pauses.get());
        assertTrue(!p.worthIt(), "paused for a while");
    }
}
