package io.memgov.runtime;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.log.EventLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RssWatchTest {
    @TempDir
    Path tmp;
    final List<String> lines = new CopyOnWriteArrayList<>();
    final AtomicLong rss = new AtomicLong();
    final AtomicLong clock = new AtomicLong(1_000_000);
    MemoryGovernor g;

    RssWatch watch(String options, long containerLimit) {
        ConfigLoader.Result r = new ConfigLoader(options, new Properties(), Map.of(), tmp, 0, 1, tmp.toString()).load();
        assertTrue(r.errors().isEmpty(), () -> "config errors: " + r.errors());
        g = new MemoryGovernor(r.config(), new EventLog(lines::add, LogFormat.TEXT, LogLevel.INFO));
        return new RssWatch(g, containerLimit, rss::get, clock::get);
    }

    @Test
    void warnsOnceAMinuteWhileRssIsNearTheContainersLimitAndCountsTheRest() {
        RssWatch w = watch("host.limit=1g", 1000L << 20);
        rss.set(899L << 20);
        w.run();
        assertEquals(0, lines.size(), "under 90%: nothing");
        rss.set(950L << 20);
        w.run();
        assertEquals(1, lines.size(), lines.toString());
        String line = lines.get(0);
        assertTrue(line.contains("WARN") && line.contains("event=rss-high"), line);
        for (String f : List.of("rss=" + (950L << 20), "container.limit=" + (1000L << 20), "rss.of.limit=0.950",
                "host.used=0", "host.limit=" + (1L << 30), "heap.committed=", "direct.used=", "native.other=",
                "not.logged=0", "95% of the container's memory limit", "lower host.limit, -Xmx")) {
            assertTrue(line.contains(f), f + " in " + line);
        }
        for (int i = 0; i < 59; i++) {
            clock.addAndGet(1000);
            w.run();
        }
        assertEquals(1, lines.size(), "at most one a minute");
        clock.addAndGet(1000);
        w.run();
        assertEquals(2, lines.size());
        assertTrue(lines.get(1).contains("not.logged=59"), lines.get(1));
    }

    @Test
    void governedMemoryAtItsLimitIsTheLimitEventsToSay() {
        RssWatch w = watch("host.limit=1m", 1000L << 20);
        g.host().forceReserve(1L << 20);
        rss.set(990L << 20);
        w.run();
        assertEquals(0, lines.size(), lines.toString());
        g.host().release(1);
        w.run();
        assertEquals(1, lines.size(), "under its limit again: the warning");
    }

    @Test
    void noContainerLimitNoWarning() {
        RssWatch w = watch("host.limit=none", -1);
        rss.set(Long.MAX_VALUE / 2);
        w.run();
        assertEquals(0, lines.size());
    }
}
