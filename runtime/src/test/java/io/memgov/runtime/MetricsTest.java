package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.log.EventLog;
import io.memgov.testsite.Allocator;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MetricsTest {
    private static final String SITE = "io.memgov.testsite.Allocator.allocate(Allocator.java:11)";
    private static final String ND4J_SITE = "io.memgov.testsite.Allocator.allocateNd4j(Allocator.java:15)";
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private MemoryGovernor g;

    private void install(String options) {
        ConfigLoader.Result r = new ConfigLoader(options, new Properties(), Map.of(), null, 0, 1, "/tmp").load();
        assertFalse(r.hasErrors(), r.errors().toString());
        MemgovConfig c = r.config();
        g = new MemoryGovernor(c, new EventLog(lines::add, LogFormat.TEXT, LogLevel.INFO));
        Governor.install(g);
    }

    @AfterEach
    void uninstall() {
        Governor.install(null);
    }

    @Test
    void frameworksJdkAndMemgovAreNeverSites() {
        for (String c : new String[]{"java.lang.Thread", "jdk.internal.reflect.X", "sun.misc.Unsafe",
            "ai.djl.ndarray.NDArray", "ai.djl.pytorch.jni.MemgovDjl", "org.nd4j.nativeblas.MemgovNd4j",
            "org.deeplearning4j.nn.Layer", "org.bytedeco.javacpp.Pointer", "io.memgov.runtime.Governor",
            "io.memgov.agent.Installer"}) {
            assertTrue(Sites.skipped(c), c);
        }
        for (String c : new String[]{"com.acme.App", "io.memgov.examples.TinyOps", "ai.djlx.Foo"}) {
            assertFalse(Sites.skipped(c), c);
        }
    }

    @Test
    void sitesAllRecordsEverySiteAndListsTopLiveAndAllocated() {
        install("sites=all");
        Object a = Allocator.allocate(1000);
        Object b = Allocator.allocate(500);
        Object c = Allocator.allocateNd4j(3000);
        assertEquals(SITE, g.metrics().sites().name(((Tracked) a).site()));
        assertEquals(((Tracked) a).site(), ((Tracked) b).site(), "one site, one id");
        Map<String, Object> s = g.snapshot();
        assertEquals(ND4J_SITE + ":3000;" + SITE + ":1500", s.get("top.live"));
        assertEquals(ND4J_SITE + ":3000;" + SITE + ":1500", s.get("top.allocated"));
        Governor.release(c);
        Governor.release(a);
        s = g.snapshot(true);
        assertEquals(SITE + ":500", s.get("top.live"));
        assertEquals(ND4J_SITE + ":3000;" + SITE + ":1500", s.get("top.allocated"), "allocated bytes stay");
        assertEquals(SITE + ":1:500", s.get("live.sites"), "site:tensors:bytes of what is live");
        assertFalse(g.snapshot().containsKey("live.sites"), "live.sites is a summary field");
    }

    @Test
    void sitesOffWalksNoStackAndListsNoSites() {
        install("sites=off");
        Tracked big = (Tracked) Allocator.allocate(Metrics.LARGE * 2);
        // the first sampled id is under 2×INTERVAL and later gaps are under 2×INTERVAL, so 4×INTERVAL+1
        // allocations hold at least two sampled small ones whatever the random draws: p50 is 10
        for (int i = 0; i <= 4 * Metrics.INTERVAL; i++) {
            assertEquals(Sites.UNSAMPLED, ((Tracked) Allocator.allocate(10)).site());
        }
        assertEquals(Sites.UNSAMPLED, big.site());
        Map<String, Object> s = g.snapshot(true);
        assertFalse(s.containsKey("top.live"));
        assertFalse(s.containsKey("top.allocated"));
        assertFalse(s.containsKey("live.sites"));
        assertEquals(10L, s.get("alloc.size.p50"), "sizes are sampled whatever the sites mode");
    }

    @Test
    void sitesSampleRecordsSitesByBytesSizesByCountAndEveryLargeOne() {
        Metrics m = new Metrics(io.memgov.runtime.config.SiteMode.SAMPLE, 512 << 10, 0, 7);
        int[] events = {0};
        m.jfr = new JfrSink() {
            @Override public void allocation(long id, long bytes, String framework, String tier, String site) { events[0]++; }
            @Override public void spill(long id, long bytes, String from, String to, long micros) { }
            @Override public void restore(long id, long bytes, String from, String to, long micros) { }
            @Override public void limitReached(String tier, long requested, long used, long limit, String action) { }
        };
        int n = Metrics.INTERVAL * 200;
        int walked = 0;
        for (int i = 0; i < n; i++) {
            Tracked t = new Tracked(i + 1, 100, 0, 0, 0);
            if (m.wants(t)) {
                m.sample(t, 0);
            }
            if (t.site() != Sites.UNSAMPLED) {
                walked++;
                assertEquals(1 / -Math.expm1(-100.0 / (512 << 10)), t.sampleScale(), 1e-3 * t.sampleScale(), "weight 1/p");
            }
        }
        // sizes (and JFR events) by count: about one in 256; sites by bytes: 5,120,000 bytes / 512 KiB, about 10
        assertTrue(events[0] > 150 && events[0] < 300, "about 200 of " + n + " sampled: " + events[0]);
        assertTrue(walked >= 1 && walked <= 30, "about 10 sampled by bytes: " + walked);
        assertEquals(walked, m.byteSamples());
        for (int i = 0; i < 20; i++) {
            Tracked t = new Tracked(n + i + 1, Metrics.LARGE, 0, 0, 0);
            assertTrue(m.wants(t));
            m.sample(t, 0);
            assertNotEquals(Sites.UNSAMPLED, t.site(), "large: always");
            assertEquals(1f, t.sampleScale(), "sampled for sure: stands for itself");
        }
    }

    @Test
    void gapsBetweenSampledAllocationsRunFromOneToTwiceTheIntervalAndAverageTheInterval() {
        long sum = 0;
        int n = 100_000;
        int min = Integer.MAX_VALUE;
        int max = 0;
        for (long id = 1; id <= n; id++) {
            int gap = Metrics.gap(id);
            min = Math.min(min, gap);
            max = Math.max(max, gap);
            sum += gap;
        }
        assertEquals(1, min);
        assertEquals(2 * Metrics.INTERVAL - 1, max);
        double mean = (double) sum / n;
        assertTrue(Math.abs(mean - Metrics.INTERVAL) < 0.02 * Metrics.INTERVAL, "mean gap " + mean);
    }

    @Test
    void sampledSizesReachTheHistogramWhenItIsRead() {
        Metrics m = new Metrics(io.memgov.runtime.config.SiteMode.OFF);
        for (int i = 0; i < 99; i++) {
            m.sample(new Tracked(m.nextSample, 1000, 0, 0, 0), 0);
        }
        m.sample(new Tracked(m.nextSample, 1_000_000, 0, 0, 0), 0);
        Map<String, Object> figures = new java.util.LinkedHashMap<>();
        m.putFigures(figures);
        assertEquals(1000L, figures.get("alloc.size.p50"));
        assertEquals(1000L, figures.get("alloc.size.p99"));
        assertTrue((long) figures.get("alloc.size.max") > 999_000L && (long) figures.get("alloc.size.max") <= 1_000_000L,
                "max within the histogram's 3 digits: " + figures.get("alloc.size.max"));
    }

    @Test
    void moreSampledSizesThanTheRingHoldsBetweenReadsKeepTheNewest() {
        Metrics m = new Metrics(io.memgov.runtime.config.SiteMode.OFF);
        for (int i = 0; i < Metrics.PENDING; i++) {
            m.sample(new Tracked(m.nextSample, 10, 0, 0, 0), 0);
        }
        for (int i = 0; i < Metrics.PENDING; i++) {
            m.sample(new Tracked(m.nextSample, 5000, 0, 0, 0), 0); // written over every 10
        }
        assertEquals(Metrics.PENDING, m.sampledSizes(), "the ring's worth, the newest");
        Map<String, Object> figures = new java.util.LinkedHashMap<>();
        m.putFigures(figures);
        assertEquals(5000L, figures.get("alloc.size.p50"));
        m.sample(new Tracked(m.nextSample, 10, 0, 0, 0), 0);
        assertEquals(Metrics.PENDING + 1, m.sampledSizes(), "nothing taken twice");
    }

    @Test
    void siteListsEstimateBytesWithNoUnsampledBucket() {
        install("sites=sample,sites.sample.bytes=4k");
        int n = Metrics.INTERVAL * 20;
        for (int i = 0; i < n; i++) {
            Allocator.allocate(100);
        }
        for (int i = 0; i < 20; i++) {
            Allocator.allocate(Metrics.LARGE);
        }
        Map<String, Object> s = g.snapshot(true);
        String top = (String) s.get("top.allocated");
        assertTrue(top.startsWith(SITE + ":") && !top.contains(";"), "one site, no unsampled: " + top);
        long estimate = Long.parseLong(top.substring(top.lastIndexOf(':') + 1));
        // the large ones exactly, the 512,000 bytes of small ones as an estimate (N grew if walks were slow)
        assertTrue(estimate >= 20 * Metrics.LARGE && estimate < 20 * Metrics.LARGE + 100L * n * 50, top);
        assertTrue((long) s.get("sites.sample.bytes") >= 4096, s.toString());
        for (String k : new String[]{"top.live", "live.sites", "leak.sites"}) {
            assertFalse(String.valueOf(s.get(k)).contains("unsampled"), k + "=" + s.get(k));
        }
    }

    @Test
    void theSiteTableIsBounded() {
        Sites sites = new Sites();
        for (int i = 0; i < Sites.MAX + 10; i++) {
            sites.intern("site" + i);
        }
        assertEquals(Sites.OTHER, sites.intern("one more"));
        assertEquals(3, sites.intern("site0"));
    }

    @Test
    void leaksAreLoggedWithTheirSiteRateLimitedAndCounted() {
        install("sites=all");
        List<Object> records = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            records.add(Allocator.allocateNd4j(64));
        }
        for (Object r : records) {
            Governor.leaked(r);
            Governor.release(r);
        }
        List<String> leaks = new ArrayList<>();
        for (String l : lines) {
            if (l.contains("event=leak ")) {
                leaks.add(l);
            }
        }
        assertEquals(Metrics.LEAKS_PER_SECOND, leaks.size(), leaks.toString());
        long id = ((Tracked) records.get(0)).id();
        assertTrue(leaks.get(0).endsWith("event=leak id=" + id + " bytes=64 framework=nd4j site=" + ND4J_SITE + " not.logged=0"),
                leaks.get(0));
        Map<String, Object> s = g.snapshot(true);
        assertEquals(25L, s.get("leaks"));
        assertEquals(25 * 64L, s.get("leak.bytes"));
        assertEquals(ND4J_SITE + ":1600", s.get("leak.sites"));
        Object closed = Allocator.allocateNd4j(8);
        Governor.release(closed);
        Governor.leaked(closed);
        assertEquals(25L, g.snapshot().get("leaks"), "a released array is no leak");
    }

    @Test
    void histogramsGivePercentilesOfSizesAndLatencies() {
        install("sites=all");
        for (int i = 1; i <= 100; i++) {
            Allocator.allocate(i * 1000L);
        }
        for (int i = 1; i <= 100; i++) {
            g.metrics().spilled(i, 100, "host", "disk", i);
            g.metrics().restored(i, 100, "disk", "host", i * 10L);
        }
        Map<String, Object> s = g.snapshot();
        assertEquals(50_000, (Long) s.get("alloc.size.p50"), 50, "within 0.1%");
        assertEquals(99_000, (Long) s.get("alloc.size.p99"), 99);
        assertEquals(100_000, (Long) s.get("alloc.size.max"), 100);
        assertEquals(50L, s.get("spill.micros.p50"));
        assertEquals(99L, s.get("spill.micros.p99"));
        assertEquals(100L, s.get("spill.micros.max"));
        assertEquals(1000L, s.get("restore.micros.max"));
        assertEquals(0L, s.get("leaks"));
    }
}
