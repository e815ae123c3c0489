package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.log.EventLog;
import io.memgov.runtime.log.LogSink;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GovernorTest {
    private static final int HOST = Tier.HOST.ordinal();
    private static final int DEVICE = Tier.DEVICE.ordinal();

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private MemoryGovernor g;

    @BeforeEach
    void install() {
        LogSink sink = lines::add;
        g = new MemoryGovernor(MemgovConfig.defaults(), new EventLog(sink, LogFormat.TEXT, LogLevel.INFO));
        Governor.install(g);
    }

    @AfterEach
    void uninstall() {
        Governor.install(null);
    }

    @Test
    void noReportFollowsTheSummary() {
        g.report();
        g.summary();
        g.report();
        Governor.checkpoint("late");
        long reports = lines.stream().filter(l -> l.contains(" event=report ")).count();
        assertEquals(1, reports, String.join("\n", lines));
        assertTrue(lines.get(lines.size() - 1).contains(" event=summary "), "the summary is the last event");
    }

    @Test
    void installAndUninstall() {
        assertSame(g, Governor.current());
        Governor.install(null);
        assertNull(Governor.current());
        assertNull(Governor.allocate(Governor.FW_DJL, HOST, 0, 100), "nothing is governed without a governor");
    }

    @Test
    void defaultsHaveNoLimits() {
        assertEquals(Budget.NONE, g.host().limit());
        assertEquals(Budget.NONE, g.disk().limit());
        assertEquals(Budget.NONE, g.device(0).limit());
    }

    @Test
    void allocateCountsHostBytes() {
        Object r = Governor.allocate(Governor.FW_DJL, HOST, 0, 100);
        Tracked t = assertInstanceOf(Tracked.class, r);
        assertEquals(100, t.storageBytes());
        assertEquals(Tier.HOST, t.tier());
        assertEquals(Governor.FW_DJL, t.framework());
        assertFalse(t.isView());
        assertFalse(t.isReleased());
        assertSame(t, t.storage());

        Governor.allocate(Governor.FW_ND4J, HOST, 0, 50);
        assertEquals(150, g.host().used());
        assertEquals(150, g.host().peak());
        assertEquals(2, g.allocations());
        assertEquals(150, g.allocatedBytes());
        assertEquals(0, g.releases());
        assertEquals(2, g.live());
        assertEquals(0, g.device(0).used());
    }

    @Test
    void negativeSizeIsNotCounted() {
        assertNull(Governor.allocate(Governor.FW_DJL, HOST, 0, -1));
        assertEquals(0, g.host().used());
        assertEquals(0, g.allocations());
    }

    @Test
    void allocateCountsDeviceBytesPerDevice() {
        Object a = Governor.allocate(Governor.FW_DJL, DEVICE, 0, 300);
        Object b = Governor.allocate(Governor.FW_DJL, DEVICE, 2, 500);
        Object c = Governor.allocate(Governor.FW_ND4J, DEVICE, 2, 25);
        assertEquals(Tier.DEVICE, ((Tracked) b).tier());
        assertEquals(2, ((Tracked) b).device());
        assertEquals(300, g.device(0).used());
        assertEquals(0, g.device(1).used());
        assertEquals(525, g.device(2).used());
        assertEquals(0, g.host().used(), "device bytes are not host bytes");

        Map<String, Object> s = g.snapshot();
        assertEquals(825L, s.get("device.used"));
        assertEquals(525L, s.get("device.peak"));
        assertEquals(300L, s.get("device.0.used"));
        assertEquals(525L, s.get("device.2.used"));
        assertEquals(0L, s.get("host.used"));

        Governor.release(b);
        assertEquals(25, g.device(2).used());
        assertEquals(525, g.device(2).peak());
        Governor.release(a);
        Governor.release(c);
        assertEquals(0, g.device(0).used());
        assertEquals(0, g.device(2).used());
        assertEquals(0L, g.snapshot().get("device.used"));
        assertEquals(0, g.live());
    }

    @Test
    void releaseUncounts() {
        Object a = Governor.allocate(Governor.FW_DJL, HOST, 0, 100);
        Object b = Governor.allocate(Governor.FW_DJL, HOST, 0, 40);
        Governor.release(a);
        assertTrue(((Tracked) a).isReleased());
        assertEquals(40, g.host().used());
        assertEquals(140, g.host().peak());
        assertEquals(1, g.releases());
        assertEquals(1, g.live());
        Governor.release(b);
        assertEquals(0, g.host().used());
        assertEquals(2, g.releases());
        assertEquals(0, g.live());
    }

    @Test
    void releasingTwiceIsANoOp() {
        Object a = Governor.allocate(Governor.FW_DJL, HOST, 0, 100);
        Object keep = Governor.allocate(Governor.FW_DJL, HOST, 0, 7);
        Governor.release(a);
        Governor.release(a);
        assertEquals(7, g.host().used());
        assertEquals(1, g.releases());
        assertEquals(1, g.live());
        Governor.release(keep);
    }

    @Test
    void releaseOfSomethingElseIsIgnored() {
        Governor.allocate(Governor.FW_DJL, HOST, 0, 10);
        Governor.release(null);
        Governor.release("not a record");
        assertEquals(10, g.host().used());
        assertEquals(0, g.releases());
    }

    @Test
    void aViewCountsNothing() {
        Object parent = Governor.allocate(Governor.FW_DJL, HOST, 0, 100);
        Object view = Governor.share(parent);
        Tracked v = assertInstanceOf(Tracked.class, view);
        assertTrue(v.isView());
        assertSame(parent, v.storage());
        assertEquals(100, v.storageBytes());
        assertEquals(100, g.host().used());
        assertEquals(1, g.allocations());
        assertEquals(1, g.live(), "live counts storages, not views");
    }

    @Test
    void storageStaysCountedUntilTheViewIsReleasedParentFirst() {
        Object parent = Governor.allocate(Governor.FW_DJL, HOST, 0, 100);
        Object view = Governor.share(parent);
        Governor.release(parent);
        assertEquals(100, g.host().used(), "the view still uses the storage");
        assertEquals(0, g.releases());
        assertEquals(1, g.live());
        Governor.release(view);
        assertEquals(0, g.host().used());
        assertEquals(1, g.releases());
        assertEquals(0, g.live());
    }

    @Test
    void storageStaysCountedUntilTheParentIsReleasedViewFirst() {
        Object parent = Governor.allocate(Governor.FW_DJL, DEVICE, 1, 100);
        Object view = Governor.share(parent);
        Governor.release(view);
        assertEquals(100, g.device(1).used());
        assertEquals(0, g.releases());
        Governor.release(parent);
        assertEquals(0, g.device(1).used());
        assertEquals(1, g.releases());
    }

    @Test
    void viewsOfViewsShareTheOneStorageInAnyReleaseOrder() {
        Object parent = Governor.allocate(Governor.FW_DJL, HOST, 0, 64);
        Object v1 = Governor.share(parent);
        Object v2 = Governor.share(v1);
        Object v3 = Governor.share(v2);
        assertSame(parent, ((Tracked) v3).storage());
        Governor.release(v2);
        Governor.release(v2); // twice: must not drop a reference of another array
        Governor.release(parent);
        Governor.release(v1);
        assertEquals(64, g.host().used(), "v3 is still alive");
        Object v4 = Governor.share(v3);
        assertNotNull(v4);
        Governor.release(v3);
        assertEquals(64, g.host().used(), "v4 is still alive");
        Governor.release(v4);
        assertEquals(0, g.host().used());
        assertEquals(1, g.allocations());
        assertEquals(1, g.releases());
    }

    @Test
    void shareOfAFullyReleasedStorageIsNull() {
        Object parent = Governor.allocate(Governor.FW_DJL, HOST, 0, 100);
        Object view = Governor.share(parent);
        Governor.release(parent);
        Governor.release(view);
        assertNull(Governor.share(parent));
        assertNull(Governor.share(view));
        assertEquals(0, g.host().used());
        assertEquals(1, g.releases());
    }

    @Test
    void shareOfSomethingElseIsNull() {
        assertNull(Governor.share(null));
        assertNull(Governor.share("not a record"));
    }

    @Test
    void takeViewIsNullWhenNothingWasAnnounced() {
        assertNull(Governor.takeView(42));
    }

    @Test
    void anAnnouncedViewIsTakenOnceForItsHandle() {
        Object parent = Governor.allocate(Governor.FW_DJL, HOST, 0, 10);
        Governor.expectView(7, parent);
        assertSame(parent, Governor.takeView(7));
        assertNull(Governor.takeView(7), "an announcement is consumed");
    }

    @Test
    void aStaleAnnouncementForAnotherHandleIsDroppedNotApplied() {
        Object parent = Governor.allocate(Governor.FW_DJL, HOST, 0, 10);
        Governor.expectView(7, parent);
        assertNull(Governor.takeView(8), "a different array is not the announced view");
        assertNull(Governor.takeView(7), "and the stale announcement is gone");
    }

    @Test
    void anAnnouncementIsPerThread() throws Exception {
        Object parent = Governor.allocate(Governor.FW_DJL, HOST, 0, 10);
        Governor.expectView(7, parent);
        Object[] seen = {"unset"};
        Thread t = new Thread(() -> seen[0] = Governor.takeView(7));
        t.start();
        t.join();
        assertNull(seen[0], "another thread does not see this thread's announcement");
        assertSame(parent, Governor.takeView(7));
    }

    @Test
    void aViewKeepsTheParentsStorage() {
        Object parent = Governor.allocate(Governor.FW_DJL, HOST, 0, 100);
        Governor.expectView(5, parent);
        Object view = Governor.share(Governor.takeView(5));
        assertNotNull(view);
        Governor.release(parent);
        assertEquals(100, g.host().used());
        Governor.release(view);
        assertEquals(0, g.host().used());
    }

    @Test
    void aViewOfAnUntrackedParentCountsNothing() {
        Governor.expectView(9, null);
        Object marker = Governor.takeView(9);
        assertNotNull(marker, "a view was announced even without a tracked parent");
        assertNull(Governor.share(marker));
        assertEquals(0, g.host().used());
    }

    @Test
    void liveIsTheNumberOfLiveStorages() {
        List<Object> records = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Object r = Governor.allocate(Governor.FW_DJL, i % 2 == 0 ? HOST : DEVICE, i % 3, i + 1);
            records.add(r);
            records.add(Governor.share(r));
        }
        assertEquals(40, g.live());
        assertEquals(40, g.allocations());
        assertEquals(40 * 41 / 2, g.allocatedBytes());
        for (int i = 0; i < records.size(); i += 2) {
            Governor.release(records.get(i)); // parents only: the views keep every storage
        }
        assertEquals(40, g.live());
        assertEquals(0, g.releases());
        for (int i = 1; i < records.size(); i += 2) {
            Governor.release(records.get(i));
        }
        assertEquals(0, g.live());
        assertEquals(40, g.releases());
    }

    @Test
    void aGovernorThatCanSpillKeepsEveryStorageInItsLedger() {
        Governor.install(null);
        io.memgov.runtime.config.ConfigLoader.Result spilling = new io.memgov.runtime.config.ConfigLoader(
                "host.limit=1g,on-limit=spill", new java.util.Properties(), Map.of(), null, 0, 1, "/tmp").load();
        assertTrue(spilling.errors().isEmpty(), () -> "config errors: " + spilling.errors());
        g = new MemoryGovernor(spilling.config(), new EventLog(lines::add, LogFormat.TEXT, LogLevel.INFO));
        Governor.install(g);
        List<Object> records = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Object r = Governor.allocate(Governor.FW_DJL, i % 2 == 0 ? HOST : DEVICE, i % 3, i + 1);
            records.add(r);
            records.add(Governor.share(r));
        }
        assertEquals(40, g.ledger().size());
        long[] sum = {0};
        g.ledger().forEach(t -> {
            assertFalse(t.isView());
            sum[0] += t.storageBytes();
        });
        assertEquals(40 * 41 / 2, sum[0]);
        for (int i = 0; i < records.size(); i += 2) {
            Governor.release(records.get(i));
        }
        assertEquals(40, g.ledger().size());
        for (int i = 1; i < records.size(); i += 2) {
            Governor.release(records.get(i));
        }
        assertEquals(0, g.ledger().size());
    }

    @Test
    void aGovernorThatCannotSpillKeepsOnlyStoragesWithASiteInItsLedger() {
        List<Object> plain = new ArrayList<>();
        for (int i = 0; i < 2 * Metrics.INTERVAL; i++) {
            plain.add(Governor.allocate(Governor.FW_DJL, HOST, 0, 100));
        }
        Object large = Governor.allocate(Governor.FW_DJL, HOST, 0, Metrics.LARGE); // always walks its stack
        assertNotEquals(Sites.UNSAMPLED, ((Tracked) large).site());
        List<Tracked> listed = new ArrayList<>();
        g.ledger().forEach(listed::add);
        assertTrue(listed.contains(large));
        for (Tracked t : listed) {
            assertNotEquals(Sites.UNSAMPLED, t.site(), "only storages with a site: " + t.id());
        }
        assertTrue(listed.size() < plain.size() / 4, "sampled ones only: " + listed.size());
        assertEquals(plain.size() + 1, g.live());
        plain.forEach(Governor::release);
        Governor.release(large);
        assertEquals(0, g.ledger().size());
        assertEquals(0, g.live());
        assertEquals(0, g.host().used());
        assertEquals(plain.size() + 1, g.releases());
    }


    @Test
    void snapshotHasEveryContractSummaryFieldAsLong() {
        Object a = Governor.allocate(Governor.FW_DJL, HOST, 0, 100);
        Governor.allocate(Governor.FW_DJL, DEVICE, 0, 30);
        Governor.release(a);
        Map<String, Object> s = g.snapshot();
        String[] contract = {"host.used", "host.peak", "host.limit", "device.used", "device.peak",
                "disk.used", "disk.peak", "allocations", "releases", "spills", "restores",
                "spill.bytes", "restore.bytes", "pool.hits", "pool.misses", "failures"};
        for (String key : contract) {
            assertTrue(s.containsKey(key), "missing " + key);
            assertInstanceOf(Long.class, s.get(key), key);
        }
        List<String> order = new ArrayList<>(s.keySet());
        for (int i = 1; i < contract.length; i++) {
            assertTrue(order.indexOf(contract[i - 1]) < order.indexOf(contract[i]),
                    contract[i - 1] + " should come before " + contract[i]);
        }
        assertEquals(0L, s.get("host.used"));
        assertEquals(100L, s.get("host.peak"));
        assertEquals(-1L, s.get("host.limit"));
        assertEquals(30L, s.get("device.used"));
        assertEquals(30L, s.get("device.peak"));
        assertEquals(0L, s.get("disk.used"));
        assertEquals(2L, s.get("allocations"));
        assertEquals(1L, s.get("releases"));
        assertEquals(0L, s.get("failures"));
    }

    @Test
    void checkpointWritesALabelledReport() {
        Governor.allocate(Governor.FW_DJL, HOST, 0, 123);
        Governor.checkpoint("x");
        assertEquals(1, lines.size());
        String line = lines.get(0);
        assertTrue(line.contains(" INFO memgov event=report label=x host.used=123 "), line);
        assertTrue(line.contains(" allocations=1 "), line);
    }

    @Test
    void checkpointWithoutAGovernorDoesNothing() {
        Governor.install(null);
        Governor.checkpoint("x");
        assertTrue(lines.isEmpty());
    }

    @Test
    void reportAndSummaryAreLogged() {
        g.report();
        g.summary();
        assertEquals(2, lines.size());
        assertTrue(lines.get(0).contains("event=report host.used=0 "), lines.get(0));
        assertTrue(lines.get(1).contains("event=summary host.used=0 "), lines.get(1));
    }

    @Test
    void adviceErrorsAreCountedAndOnlyTheFirstFewLogged() {
        for (int i = 0; i < 15; i++) {
            Governor.adviceError("here", new IllegalStateException("boom"));
        }
        assertEquals(15, g.adviceErrors());
        assertEquals(10, lines.size());
        assertTrue(lines.get(0).contains("ERROR memgov event=error message=\"advice failed in here\""), lines.get(0));
        assertTrue(lines.get(9).contains("further advice errors are counted"), lines.get(9));
    }

    @Test
    void concurrentAllocateShareReleaseIsExact() throws Exception {
        int ops = 50_000;
        List<List<Object>> leftovers = new CopyOnWriteArrayList<>();
        BudgetTest.runConcurrently(() -> {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            List<Object> live = new ArrayList<>();
            for (int i = 0; i < ops; i++) {
                int op = live.isEmpty() ? 0 : r.nextInt(3);
                if (op == 0) {
                    int tier = r.nextBoolean() ? HOST : DEVICE;
                    live.add(Governor.allocate(Governor.FW_DJL, tier, r.nextInt(2), 1 + r.nextInt(4096)));
                } else if (op == 1) {
                    Object v = Governor.share(live.get(r.nextInt(live.size())));
                    assertNotNull(v, "a live array's storage can be shared");
                    live.add(v);
                } else {
                    int k = r.nextInt(live.size());
                    Object gone = live.get(k);
                    live.set(k, live.get(live.size() - 1));
                    live.remove(live.size() - 1);
                    Governor.release(gone);
                }
            }
            leftovers.add(live);
        });

        // what is still alive must be counted exactly
        Map<Tracked, Boolean> storages = new IdentityHashMap<>();
        for (List<Object> live : leftovers) {
            for (Object o : live) {
                storages.put(((Tracked) o).storage(), Boolean.TRUE);
            }
        }
        long host = 0;
        long[] device = new long[2];
        for (Tracked s : storages.keySet()) {
            if (s.tier() == Tier.HOST) {
                host += s.storageBytes();
            } else {
                device[s.device()] += s.storageBytes();
            }
        }
        assertEquals(host, g.host().used());
        assertEquals(device[0], g.device(0).used());
        assertEquals(device[1], g.device(1).used());
        assertEquals(storages.size(), g.live());
        assertEquals(g.allocations() - storages.size(), g.releases());

        List<Object> all = new ArrayList<>();
        leftovers.forEach(all::addAll);
        Collections.shuffle(all);
        all.forEach(Governor::release);
        assertEquals(0, g.host().used());
        assertEquals(0, g.device(0).used());
        assertEquals(0, g.device(1).used());
        assertEquals(g.allocations(), g.releases());
        assertEquals(0, g.live());
    }

    @Test
    void concurrentViewsOfOneSharedStorageReleaseItOnce() throws Exception {
        for (int round = 0; round < 200; round++) {
            Object parent = Governor.allocate(Governor.FW_DJL, HOST, 0, 1000);
            Object keeper = Governor.share(parent);
            BudgetTest.runConcurrently(() -> {
                for (int i = 0; i < 100; i++) {
                    Object v = Governor.share(keeper);
                    assertNotNull(v);
                    Governor.release(v);
                }
            });
            Governor.release(parent);
            assertEquals(1000, g.host().used());
            Governor.release(keeper);
            assertEquals(0, g.host().used());
        }
        assertEquals(200, g.releases());
        assertEquals(0, g.live());
    }
}
