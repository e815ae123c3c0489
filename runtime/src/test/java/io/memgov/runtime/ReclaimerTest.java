package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.log.EventLog;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The over-limit path as a loop over reclaimers, and what each on-limit policy makes of it. */
class ReclaimerTest {
    @TempDir
    Path tmp;
    private MemoryGovernor g;
    private final List<String> lines = new ArrayList<>();

    @AfterEach
    void uninstall() {
        Teardown.uninstall(g);
    }

    /** A reclaimer that records its call, frees {@code frees} bytes of {@code b}, and answers {@code mayFit}. */
    private static Admission.Reclaimer named(String name, List<String> calls, Budget b, long frees, boolean mayFit) {
        return r -> {
            calls.add(name);
            b.release(frees);
            return mayFit;
        };
    }

    private static Admission.Request request(Budget b, long bytes) {
        return new Admission.Request(b, Tier.HOST.ordinal(), 0, bytes, b.limit(), 0.8);
    }

    @Test
    void reclaimersRunInOrderAndStopOnceTheRequestFits() {
        Budget b = new Budget("host", 100);
        b.forceReserve(100);
        List<String> calls = new ArrayList<>();
        List<Admission.Reclaimer> list = Arrays.asList(
                named("nothing", calls, b, 0, false),
                named("too-little", calls, b, 5, true),
                named("enough", calls, b, 50, true),
                named("never", calls, b, 50, true));
        assertTrue(Admission.reclaim(list, request(b, 10)));
        assertEquals(List.of("nothing", "too-little", "enough"), calls);
        assertEquals(100 - 5 - 50 + 10, b.used(), "reserved after the reclaimer that freed enough, nothing more freed");
    }

    @Test
    void theRequestIsTriedOnlyAfterAReclaimerSaysItMayFit() {
        Budget b = new Budget("host", 100);
        b.forceReserve(100);
        List<String> calls = new ArrayList<>();
        // the first frees enough but says nothing of it (a GC request: memory comes later): no reservation yet
        List<Admission.Reclaimer> list = Arrays.asList(
                named("frees-silently", calls, b, 50, false),
                named("asks", calls, b, 0, true));
        assertFalse(Admission.reclaim(list.subList(0, 1), request(b, 10)));
        assertEquals(50, b.used(), "freed, and nothing was reserved");
        assertTrue(Admission.reclaim(list, request(b, 10)));
        assertEquals(List.of("frees-silently", "frees-silently", "asks"), calls);
        assertEquals(10, b.used(), "reserved once, after the reclaimer that asked");
    }

    @Test
    void whenNoReclaimerFreesEnoughNothingIsReserved() {
        Budget b = new Budget("host", 100);
        b.forceReserve(95);
        List<String> calls = new ArrayList<>();
        assertFalse(Admission.reclaim(Arrays.asList(named("a", calls, b, 1, true), named("b", calls, b, 1, true)),
                request(b, 20)));
        assertEquals(List.of("a", "b"), calls);
        assertEquals(93, b.used());
    }

    @Test
    void theRequestCarriesItsSpillTargetAndExcess() {
        Budget b = new Budget("host", 1000);
        b.forceReserve(900);
        Admission.Request r = request(b, 300);
        assertEquals(700, r.spillTarget, "min(limit * 0.8, limit - bytes)");
        assertEquals(200, r.excess());
        b.release(100);
        assertEquals(100, r.excess(), "read afresh");
        assertEquals(100, new Admission.Request(b, 0, 0, 100, 1000, 0.1).spillTarget);
    }

    private MemoryGovernor govern(String options) {
        ConfigLoader.Result res = new ConfigLoader(options + ",disk.dir=" + tmp.resolve("spill"), new Properties(), Map.of(),
                tmp, 0, 1, tmp.toString()).load();
        assertTrue(res.errors().isEmpty(), () -> "config errors: " + res.errors());
        g = new MemoryGovernor(res.config(), new EventLog(lines::add, LogFormat.TEXT, LogLevel.DEBUG));
        Governor.install(g);
        return g;
    }

    @Test
    void failTrimsThePoolFirstThenFailsAtOnce() {
        govern("host.limit=1m,on-limit=fail,wait.timeout=5s");
        long c = io.memgov.runtime.pool.BufferPool.classSize(600 << 10);
        Governor.poolGive(Governor.POOL_DIRECT, new Object(), c);
        assertEquals(c, g.host().used(), "the idle entry counts on HOST");
        // the pool is the policy's one reclaimer: its idle bytes make room
        Object a = Governor.allocate(Governor.FW_DJL, 0, 0, 700 << 10);
        assertNotNull(a);
        assertEquals(0, g.pool().idleBytes());
        long t0 = System.nanoTime();
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(Governor.FW_DJL, 0, 0, 700 << 10));
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 2000, "fail does not wait");
        assertTrue(e.getMessage().startsWith("memgov: HOST limit reached: requested 716800 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("on-limit=fail. Raise memgov.host.limit"), e.getMessage());
        assertEquals(1, g.failures());
        Governor.release(a);
    }

    @Test
    void waitWaitsForAReleaseAndFailsWhenNoneComes() throws Exception {
        govern("host.limit=1m,on-limit=wait,wait.timeout=300ms,pool.enabled=false");
        Object a = Governor.allocate(Governor.FW_DJL, 0, 0, 800 << 10);
        long t0 = System.nanoTime();
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(Governor.FW_DJL, 0, 0, 500 << 10));
        assertTrue((System.nanoTime() - t0) / 1_000_000 >= 290, "waited its timeout");
        assertTrue(e.getMessage().endsWith("on-limit=wait: nothing was released within memgov.wait.timeout=300ms. "
                + "Raise memgov.host.limit, close arrays that are no longer needed"), e.getMessage());

        Thread releaser = new Thread(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            Governor.release(a);
        });
        releaser.start();
        Object b = Governor.allocate(Governor.FW_DJL, 0, 0, 500 << 10); // admitted once a is released
        releaser.join();
        assertNotNull(b);
        assertEquals(500 << 10, g.host().used());
        Governor.release(b);
    }
}
