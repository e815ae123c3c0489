package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.config.OnLimit;
import io.memgov.runtime.jmx.GovernorJmx;
import io.memgov.runtime.log.EventLog;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Live changes: the config file watch and the JMX operations. */
class LiveConfigTest {
    private static final long M = 1L << 20;
    @TempDir
    Path dir;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private MemoryGovernor g;
    private Path file;
    private Supplier<ConfigLoader.Result> loader;

    private MemgovConfig start(String fileText) throws IOException {
        file = dir.resolve("memgov.properties");
        Files.writeString(file, fileText, StandardCharsets.UTF_8);
        Properties sys = new Properties();
        sys.setProperty("memgov.config", file.toString());
        loader = () -> new ConfigLoader(null, sys, Map.of(), dir, 0, 1, dir.toString()).load();
        ConfigLoader.Result r = loader.get();
        assertFalse(r.hasErrors(), r.errors().toString());
        g = new MemoryGovernor(r.config(), new EventLog(lines::add, LogFormat.TEXT, r.config().logLevel()));
        Governor.install(g);
        return r.config();
    }

    @AfterEach
    void uninstall() {
        Governor.install(null);
    }

    private List<String> events(String name) {
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            if (l.contains(" memgov event=" + name + " ")) {
                out.add(l.substring(l.indexOf("event=")));
            }
        }
        return out;
    }

    @Test
    void anEditIsAppliedOnceItReadsTheSameTwice() throws Exception {
        MemgovConfig c = start("host.limit=10m\n");
        ConfigWatcher w = new ConfigWatcher(g, file, loader, c);
        w.run();
        assertTrue(events("config-change").isEmpty(), "nothing changed");
        Files.writeString(file, "host.limit=5m\non-limit=fail\nwait.timeout=1s\nspill.low-watermark=0.5\n"
                + "disk.limit=1g\ndevice.limit=2g\nreport.interval=5s\n");
        g.device(0);
        w.run();
        assertEquals(10 * M, g.host().limit(), "not yet: the file might be half-written");
        w.run();
        assertEquals(5 * M, g.host().limit());
        assertEquals(1L << 30, g.disk().limit());
        assertEquals(2L << 30, g.device(0).limit());
        assertEquals(2L << 30, g.device(3).limit(), "a GPU seen later gets the new limit too");
        assertEquals(OnLimit.FAIL, g.config().onLimit());
        assertEquals(1000, g.config().waitTimeoutMillis());
        assertEquals(0.5, g.config().spillLowWatermark());
        assertEquals(5000, g.config().reportIntervalMillis());
        String src = "source=\"config file " + file + "\"";
        assertEquals(List.of(
                "event=config-change key=memgov.host.limit old=10m new=5m " + src,
                "event=config-change key=memgov.device.limit old=none new=2g " + src,
                "event=config-change key=memgov.disk.limit old=none new=1g " + src,
                "event=config-change key=memgov.on-limit old=spill new=fail " + src,
                "event=config-change key=memgov.spill.low-watermark old=0.8 new=0.5 " + src,
                "event=config-change key=memgov.wait.timeout old=10s new=1s " + src,
                "event=config-change key=memgov.report.interval old=60s new=5s " + src), events("config-change"));
        assertThrows(MemgovOutOfMemoryError.class, () -> Governor.allocate(Governor.FW_DJL, 0, 0, 6 * M),
                "the lowered limit and on-limit=fail hold at once");

        // a key removed from the file goes back to its default
        Files.writeString(file, "host.limit=5m\non-limit=fail\nwait.timeout=1s\nspill.low-watermark=0.5\n"
                + "disk.limit=1g\ndevice.limit=2g\n");
        w.run();
        w.run();
        assertEquals(60_000, g.config().reportIntervalMillis());
    }

    @Test
    void anInvalidEditChangesNothingAndSaysWhyAsAtStart() throws Exception {
        MemgovConfig c = start("host.limit=10m\non-limit=wait\n");
        ConfigWatcher w = new ConfigWatcher(g, file, loader, c);
        Files.writeString(file, "host.limit=5x\non-limit=fail\n");
        w.run();
        w.run();
        assertEquals(10 * M, g.host().limit());
        assertEquals(OnLimit.WAIT, g.config().onLimit(), "no key of a bad edit is applied");
        assertTrue(events("config-change").isEmpty());
        List<String> errors = events("config-error");
        assertEquals(1, errors.size(), lines.toString());
        assertTrue(errors.get(0).contains("message=\"memgov: memgov.host.limit=5x (from config file " + file
                + ") is not a size: use e.g. 512m, 4g, 25% or none; the edit is ignored and the current settings stay\""),
                errors.get(0));
        // fixed: applied against the last good load
        Files.writeString(file, "host.limit=5m\non-limit=wait\n");
        w.run();
        w.run();
        assertEquals(5 * M, g.host().limit());
        assertEquals(1, events("config-change").size(), lines.toString());
    }

    @Test
    void keysReadOnlyAtStartGetAWarningAndLogLevelChangesTheLog() throws Exception {
        MemgovConfig c = start("log.format=text\n");
        ConfigWatcher w = new ConfigWatcher(g, file, loader, c);
        Files.writeString(file, "log.format=json\nlog.level=warn\n");
        w.run();
        w.run();
        List<String> warnings = events("config-warning");
        assertEquals(1, warnings.size(), lines.toString());
        assertTrue(warnings.get(0).contains("memgov.log.format=json (from config file " + file
                + ") changed while running: it takes effect at the next start"), warnings.get(0));
        assertEquals(List.of("event=config-change key=memgov.log.level old=info new=warn source=\"config file " + file + "\""),
                events("config-change"), "logged at the more verbose of the two levels");
        assertFalse(g.log().isEnabled(LogLevel.INFO));
        assertTrue(g.log().isEnabled(LogLevel.WARN));
    }

    @Test
    void aReportIntervalChangedLiveTakesEffectOnTheGovernorThread() throws Exception {
        MemgovConfig c = start("report.interval=0\n");
        g.startBackground(c.reportIntervalMillis());
        Thread.sleep(200);
        assertTrue(events("report").isEmpty(), "report.interval=0: no report");
        g.change("memgov.report.interval", c.with("memgov.report.interval", "50ms",
                io.memgov.runtime.config.Source.JMX, "test"), "test");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (events("report").size() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(events("report").size() >= 3, lines.toString());
        g.change("memgov.report.interval", g.config().with("memgov.report.interval", "0",
                io.memgov.runtime.config.Source.JMX, "test"), "test");
        Thread.sleep(100);
        int n = events("report").size();
        Thread.sleep(300);
        assertEquals(n, events("report").size(), "turned off again");
    }

    @Test
    void nativeTrimTurnedOnLiveStartsTrimmingAndOffStopsItsChecks() throws Exception {
        MemgovConfig c = start("host.limit=64m\nnative.trim=false\n");
        ConfigWatcher w = new ConfigWatcher(g, file, loader, c);
        g.startBackground(0);
        try {
            Thread.sleep(100);
            assertEquals(null, g.background().nativeHeap(), "native.trim=false at start: no trimmer");
            Files.writeString(file, "host.limit=64m\nnative.trim=true\n");
            w.run();
            w.run();
            assertEquals(List.of("event=config-change key=memgov.native.trim old=false new=true source=\"config file "
                    + file + "\""), events("config-change"));
            NativeHeap heap = awaitTrimmer();
            assertTrue(heap.available(), heap.unavailable());
            assertEquals(Background.trimThreshold(64 * M), heap.threshold);

            heap.freed(64 * M);
            g.background().checkHeapIfDue();
            assertEquals(0, heap.freedSinceCheck.get(), "on: a spill that freed the threshold checks the C heap");

            Files.writeString(file, "host.limit=16m\nnative.trim=false\n");
            w.run();
            w.run();
            heap.freed(64 * M);
            g.background().checkHeapIfDue();
            assertEquals(64 * M, heap.freedSinceCheck.get(), "off: no check");
            Thread.sleep(100); // ten ticks of the governor's thread
            assertEquals(Background.trimThreshold(64 * M), heap.threshold, "off: the trimmer is left as it was");

            Files.writeString(file, "host.limit=16m\nnative.trim=true\n");
            w.run();
            w.run();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (heap.threshold != Background.trimThreshold(16 * M) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(Background.trimThreshold(16 * M), heap.threshold, "the threshold follows the limit in force");
            assertTrue(heap == g.background().nativeHeap(), "the same trimmer");
        } finally {
            g.close();
        }
    }

    private NativeHeap awaitTrimmer() throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (g.background().nativeHeap() == null && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        NativeHeap heap = g.background().nativeHeap();
        assertTrue(heap != null, "the governor's thread made the trimmer within 10 s");
        return heap;
    }

    @Test
    void aFileThatCannotBeReadKeepsTheSettings() throws Exception {
        MemgovConfig c = start("host.limit=10m\n");
        ConfigWatcher w = new ConfigWatcher(g, file, loader, c);
        Files.delete(file);
        w.run();
        w.run();
        assertEquals(10 * M, g.host().limit());
        assertEquals(1, events("config-warning").size(), lines.toString());
    }

    @Test
    void jmxSetLimitChecksAsAtStartAndResetPeaks() throws Exception {
        start("");
        GovernorJmx jmx = new GovernorJmx(g);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> jmx.setLimit("host", "4gb"));
        assertEquals("memgov: memgov.host.limit=4gb (from JMX) is not a size: use e.g. 512m, 4g, 25% or none", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> jmx.setLimit("ram", "4g"));
        assertEquals("memgov: tier ram is not one of host, device, disk", e.getMessage());
        assertEquals(-1, jmx.getHostLimit());
        jmx.setLimit("HOST", "1m");
        jmx.setLimit("disk", "none");
        jmx.setLimit("device", "3m");
        assertEquals(M, jmx.getHostLimit());
        assertEquals(3 * M, jmx.getDeviceLimit());
        assertEquals(3, events("config-change").size());
        assertEquals("event=config-change key=memgov.host.limit old=none new=1m source=JMX", events("config-change").get(0));

        Object a = Governor.allocate(Governor.FW_DJL, 0, 0, 600 * 1024);
        Object b = Governor.allocate(Governor.FW_DJL, 0, 0, 300 * 1024);
        Object d = Governor.allocate(Governor.FW_DJL, Tier.DEVICE.ordinal(), 1, 2 * M);
        assertEquals(900 * 1024, jmx.getHostUsed());
        assertEquals(2 * M, jmx.getDeviceUsed());
        assertEquals(3, jmx.getLiveTensors());
        assertEquals(3, jmx.getAllocations());
        Governor.release(a);
        Governor.release(d);
        assertEquals(900 * 1024, jmx.getHostPeak());
        jmx.resetPeaks();
        assertEquals(300 * 1024, jmx.getHostPeak());
        assertEquals(0, jmx.getDevicePeak());
        assertEquals(0, jmx.getPoolHits());
        assertEquals("spill", jmx.getOnLimit());
        Governor.release(b);
    }
}
