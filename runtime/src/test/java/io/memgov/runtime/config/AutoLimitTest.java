package io.memgov.runtime.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AutoLimitTest {
    private static final long M = 1L << 20;
    private static final long G = 1L << 30;

    @TempDir
    Path dir;

    private ConfigLoader.Result load(String agentArgs, AutoLimit.Inputs inputs) {
        return new ConfigLoader(agentArgs, new Properties(), new HashMap<>(), dir, 16 * G, 1, "/tmp")
                .autoInputs(inputs).load();
    }

    private static AutoLimit.Inputs container(long limit, long heap, long direct) {
        return new AutoLimit.Inputs(limit, "cgroup v2 /sys/fs/cgroup/memory.max", 128 * G, heap, direct, "-XX:MaxDirectMemorySize");
    }

    @Test
    void autoIsTheContainerLessHeapDirectAndMargin() {
        ConfigLoader.Result r = load("host.limit=auto", container(4 * G, G, 512 * M));
        assertFalse(r.hasErrors(), r.errors().toString());
        MemgovConfig c = r.config();
        // 4 GiB - 1 GiB heap - 512 MiB direct - max(256 MiB, 102.4 MiB) margin
        assertEquals(4 * G - G - 512 * M - 256 * M, c.hostLimit());
        AutoLimit a = c.hostLimitAuto();
        Map<String, Object> f = a.fields();
        assertEquals(4 * G, f.get("host.limit.total"));
        assertEquals("container", f.get("host.limit.total.from"));
        assertEquals(G, f.get("host.limit.heap.max"));
        assertEquals(512 * M, f.get("host.limit.direct.max"));
        assertEquals(256 * M, f.get("host.limit.margin"));
        assertEquals("100", f.get("host.limit.percent"));
        assertEquals("auto", c.rawValue("memgov.host.limit"));
    }

    @Test
    void marginIsATenthOfALargeHeap() {
        MemgovConfig c = load("host.limit=auto", container(64 * G, 10 * G, G)).config();
        assertEquals(64 * G - 10 * G - G - G, c.hostLimit());
    }

    @Test
    void percentFormTakesThatShareOfAuto() {
        MemgovConfig c = load("host.limit=auto-80%", container(4 * G, G, 512 * M)).config();
        long auto = 4 * G - G - 512 * M - 256 * M;
        assertEquals(auto * 80 / 100, c.hostLimit());
        assertEquals("80", c.hostLimitAuto().fields().get("host.limit.percent"));
        assertTrue(c.hostLimitAuto().computation().contains("80% of it"), c.hostLimitAuto().computation());
    }

    @Test
    void withoutAContainerPhysicalRamIsTheTotal() {
        MemgovConfig c = load("host.limit=auto",
                new AutoLimit.Inputs(-1, "none", 8 * G, G, G, "the JDK default")).config();
        assertEquals(8 * G - 2 * G - 256 * M, c.hostLimit());
        assertEquals("physical-ram", c.hostLimitAuto().fields().get("host.limit.total.from"));
    }

    @Test
    void aContainerLimitAbovePhysicalRamIsNotTheTotal() {
        MemgovConfig c = load("host.limit=auto",
                new AutoLimit.Inputs(64 * G, "cgroup v1 x", 8 * G, G, G, "x")).config();
        assertEquals(8 * G - 2 * G - 256 * M, c.hostLimit());
    }

    @Test
    void nothingLeftIsAConfigErrorNamingKeyValueSourceInputsAndFix() {
        // a Spark executor's default: container = heap + 384 MiB overhead, direct max = heap max
        ConfigLoader.Result r = load("host.limit=auto", container(512 * M + 384 * M, 512 * M, 512 * M));
        assertTrue(r.hasErrors());
        ConfigProblem e = r.errors().get(0);
        assertEquals("memgov.host.limit", e.key());
        assertEquals("auto", e.value());
        assertEquals("agent options", e.source());
        String m = e.message();
        assertTrue(m.startsWith("memgov: memgov.host.limit=auto (from agent options) leaves nothing for tensors: "
                + "container limit 896 MiB (939524096, cgroup v2 /sys/fs/cgroup/memory.max) - heap max 512 MiB"
                + " - direct memory max 512 MiB (-XX:MaxDirectMemorySize) - margin 256 MiB"), m);
        assertTrue(m.contains("= -384 MiB"), m);
        assertTrue(m.contains("spark.executor.memoryOverhead") && m.contains("memgov.host.limit=512m"), m);
        // the bad value keeps the default: no limit, never a silent zero
        assertEquals(-1, r.config().hostLimit());
        assertNull(r.config().hostLimitAuto());
    }

    @Test
    void badAutoFormsAreErrors() {
        for (String v : new String[]{"auto-", "auto80%", "auto-0%", "auto-101%", "autox", "auto-80"}) {
            ConfigLoader.Result r = load("host.limit=" + v, container(4 * G, G, G));
            assertTrue(r.hasErrors(), v);
            assertTrue(r.errors().get(0).message().startsWith("memgov: memgov.host.limit=" + v
                    + " (from agent options) is not an auto size"), r.errors().get(0).message());
        }
    }

    @Test
    void autoIsOnlyForTheHostLimit() {
        ConfigLoader.Result r = load("disk.limit=auto", container(4 * G, G, G));
        assertTrue(r.hasErrors());
        assertEquals("memgov: memgov.disk.limit=auto (from agent options) is not a size: use e.g. 512m, 4g, 25% or none",
                r.errors().get(0).message());
    }

    @Test
    void inputsOfThisJvmAreRead() {
        AutoLimit.Inputs in = AutoLimit.Inputs.ofThisJvm();
        assertTrue(in.heapMax > 0);
        assertTrue(in.directMax > 0);
        assertTrue(in.physicalRam > 0);
    }
}
