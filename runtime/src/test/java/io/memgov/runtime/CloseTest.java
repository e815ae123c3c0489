package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.log.EventLog;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillFile;
import io.memgov.runtime.spill.SpillStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MemoryGovernor#close}: its threads stop, its spill files go, and the facade answers as ungoverned. */
class CloseTest {
    @TempDir
    Path tmp;
    private MemoryGovernor g;
    private final List<String> lines = new ArrayList<>();

    @AfterEach
    void uninstall() {
        Teardown.uninstall(g);
    }

    private MemoryGovernor govern(String options) {
        ConfigLoader.Result r = new ConfigLoader(options + ",disk.dir=" + tmp.resolve("spill"), new Properties(), Map.of(),
                tmp, 0, 1, tmp.toString()).load();
        assertTrue(r.errors().isEmpty(), () -> "config errors: " + r.errors());
        g = new MemoryGovernor(r.config(), new EventLog(lines::add, LogFormat.TEXT, LogLevel.DEBUG));
        Governor.install(g);
        return g;
    }

    private static Set<Thread> memgovThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("memgov-")).collect(Collectors.toSet());
    }

    @Test
    void closeIsIdempotentAndTheFacadeIsUngovernedAfterwards() {
        govern("host.limit=1m");
        Object live = Governor.allocate(Governor.FW_DJL, 0, 0, 1000);
        assertNotNull(live);
        assertTrue(Governor.spillMode());
        assertSame(g, Governor.current());

        g.close();
        assertTrue(g.isClosed());
        assertNull(Governor.current());
        assertNull(Governor.allocate(Governor.FW_DJL, 0, 0, 1000), "ungoverned: no record");
        assertNull(Governor.reserve(Governor.FW_DJL, 0, 0, 1000));
        assertFalse(Governor.spillMode());
        assertFalse(Governor.poolEnabled());
        assertFalse(Governor.beginRestore(live));
        Governor.release(live); // a record of the closed governor is released without counting
        assertEquals(1000, g.host().used(), "the closed governor counts nothing more");
        assertEquals(0, g.releases());

        g.close(); // again: nothing happens, nothing throws
        assertTrue(g.isClosed());
        assertNull(Governor.current());
    }

    @Test
    void closingAGovernorThatIsNotInstalledLeavesTheInstalledOne() {
        MemoryGovernor other = govern("host.limit=1m");
        MemoryGovernor installed = new MemoryGovernor(other.config(), new EventLog(lines::add, LogFormat.TEXT, LogLevel.INFO));
        Governor.install(installed);
        try {
            other.close();
            assertSame(installed, Governor.current());
            assertNotNull(Governor.allocate(Governor.FW_DJL, 0, 0, 10));
            assertEquals(10, installed.host().used());
        } finally {
            installed.close();
        }
        assertNull(Governor.current());
    }

    @Test
    void closeStopsTheBackgroundAndPrefetchThreads() throws Exception {
        Set<Thread> before = memgovThreads();
        govern("host.limit=1m,prefetch=auto");
        g.startBackground(0);
        Set<Thread> started = memgovThreads();
        started.removeAll(before);
        Set<String> names = started.stream().map(Thread::getName).collect(Collectors.toSet());
        assertEquals(Set.of("memgov-governor", "memgov-prefetch"), names);

        g.close();
        for (Thread t : started) {
            t.join(2000);
            assertFalse(t.isAlive(), t.getName() + " still runs");
        }
        g.startBackground(0); // a closed governor starts nothing again
        Set<Thread> after = memgovThreads();
        after.removeAll(before);
        assertTrue(after.isEmpty(), "started after close: " + after);
    }

    @Test
    void closeRemovesTheSpillFiles() throws Exception {
        govern("host.limit=64k,on-limit=spill,pool.enabled=false,prefetch=off");
        Governor.registerSpillBridge(Governor.FW_DJL, new SpillBridge() {
            @Override
            public SpillFile spill(Object tensor, Object record, long id, SpillStore store) throws io.memgov.runtime.spill.SpillException {
                return store.write(id, ByteBuffer.wrap((byte[]) tensor));
            }

            @Override
            public boolean offload(Object tensor, Object record) {
                return false;
            }
        });
        Object first = Governor.allocate(Governor.FW_DJL, 0, 0, 40 << 10);
        Governor.keep(first, new byte[40 << 10]);
        Object second = Governor.allocate(Governor.FW_DJL, 0, 0, 40 << 10); // spills the first
        assertNotNull(second);
        assertEquals(1, g.spills());
        assertTrue(Governor.away(first));
        Path dir = tmp.resolve("spill");
        assertEquals(1, files(dir), "one spill file on disk");

        g.close();
        assertEquals(0, files(dir), "close deletes the spill files");
    }

    private static long files(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).count();
        }
    }
}
