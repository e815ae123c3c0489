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
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DEVICE→HOST offload over the device limit, through a fake bridge (there is no GPU here): the same
 * machinery as HOST→DISK spill, one tier up, cascading into it when HOST is full too.
 */
class OffloadTest {
    static final int HOST = Tier.HOST.ordinal();
    static final int DEVICE = Tier.DEVICE.ordinal();

    @TempDir
    Path tmp;

    final List<String> lines = new CopyOnWriteArrayList<>();
    MemoryGovernor g;
    final Fake bridge = new Fake();

    /** A "tensor" that lives on a device or on the host (offloaded), or in a spill file. */
    static final class Tensor {
        final String name;
        final byte[] data;
        volatile String where = "device";

        Tensor(String name, int bytes) {
            this.name = name;
            this.data = new byte[bytes];
            java.util.Arrays.fill(this.data, (byte) name.hashCode());
        }
    }

    static final class Fake implements SpillBridge {
        final List<String> offloaded = new CopyOnWriteArrayList<>();
        final List<String> spilled = new CopyOnWriteArrayList<>();

        @Override
        public SpillFile spill(Object tensor, Object record, long id, SpillStore store) throws SpillException {
            Tensor t = (Tensor) tensor;
            if (Governor.pinned(record)) {
                return null;
            }
            SpillFile f = store.write(id, ByteBuffer.wrap(t.data));
            t.where = "disk";
            spilled.add(t.name);
            return f;
        }

        @Override
        public boolean offload(Object tensor, Object record) {
            Tensor t = (Tensor) tensor;
            if (Governor.pinned(record)) {
                return false;
            }
            t.where = "host";
            offloaded.add(t.name);
            return true;
        }
    }

    void govern(String options) {
        ConfigLoader.Result r = new ConfigLoader(options + ",disk.dir=" + tmp.resolve("spill"), new Properties(),
                Map.of(), tmp, 0, 1, tmp.toString()).load();
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        g = new MemoryGovernor(r.config(), new EventLog(lines::add, LogFormat.TEXT, LogLevel.DEBUG));
        Governor.install(g);
        Governor.registerSpillBridge(Governor.FW_DJL, bridge);
        g.startBackground(0);
    }

    @AfterEach
    void uninstall() {
        Governor.install(null);
        g.closeSpills();
    }

    Object onDevice(Tensor t, int device) throws InterruptedException {
        Object rec = Governor.allocate(Governor.FW_DJL, DEVICE, device, t.data.length);
        Governor.keep(rec, t);
        Thread.sleep(25); // distinct last-access times: the coarse clock ticks every 10 ms
        return rec;
    }

    @Test
    void overTheDeviceLimitTheLeastRecentlyUsedDeviceTensorMovesToHost() throws Exception {
        govern("device.limit=1000,spill.low-watermark=1");
        Tensor a = new Tensor("a", 400);
        Tensor b = new Tensor("b", 400);
        Object ra = onDevice(a, 0);
        Object rb = onDevice(b, 0);
        Governor.touch(ra); // a is now the most recently used
        Thread.sleep(25);
        Object rc = Governor.allocate(Governor.FW_DJL, DEVICE, 0, 400); // 1200 > 1000: b goes to host
        assertEquals(List.of("b"), bridge.offloaded);
        assertTrue(Governor.offloaded(rb));
        assertFalse(Governor.offloaded(ra));
        assertEquals(800, g.device(0).used());
        assertEquals(400, g.host().used(), "the offloaded bytes are counted on HOST");
        assertEquals(400, g.host(Governor.FW_DJL).used());
        assertEquals(1L, g.snapshot().get("offloads"));
        assertTrue(lines.stream().anyMatch(l -> l.contains("event=spill") && l.contains("from=device.0 to=host")), lines.toString());

        // its next use brings it back to its device (making room there again)
        assertTrue(Governor.beginRestore(rb));
        Governor.endRestore(rb, true);
        assertFalse(Governor.offloaded(rb));
        assertTrue(lines.stream().anyMatch(l -> l.contains("event=restore") && l.contains("from=host to=device.0")), lines.toString());
        // b back (400) with a (400) and c (400) on device 0 exceeds 1000: a, now the least recently used, made room
        assertEquals(List.of("b", "a"), bridge.offloaded);
        assertTrue(Governor.offloaded(ra));
        assertEquals(400, g.host().used(), "a's bytes are on HOST now, b's are not");
        assertEquals(800, g.device(0).used());
        Governor.release(ra);
        Governor.release(rb);
        Governor.release(rc);
        assertEquals(0, g.device(0).used());
        assertEquals(0, g.host().used());
        assertEquals(1L, g.snapshot().get("restores"));
    }

    @Test
    void onlyTensorsOfTheDeviceOverItsLimitMoveAndPinnedOnesStay() throws Exception {
        govern("device.limit=1000,spill.low-watermark=1,wait.timeout=100ms");
        Tensor other = new Tensor("other", 900);
        Tensor pinned = new Tensor("pinned", 900);
        onDevice(other, 1);
        Object rp = onDevice(pinned, 0);
        Governor.pin(rp);
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(Governor.FW_DJL, DEVICE, 0, 400));
        assertTrue(e.getMessage().startsWith("memgov: DEVICE.0 limit reached: requested 400 bytes"), e.getMessage());
        assertTrue(bridge.offloaded.isEmpty(), "device 1's tensor and the pinned one stay: " + bridge.offloaded);
        Governor.unpin(rp);
        Governor.allocate(Governor.FW_DJL, DEVICE, 0, 400);
        assertEquals(List.of("pinned"), bridge.offloaded);
    }

    @Test
    void whenHostIsFullTooOffloadCascadesIntoSpillingHostTensorsToDisk() throws Exception {
        govern("device.limit=1000,host.limit=1000,spill.low-watermark=1");
        Tensor h = new Tensor("h", 800);
        Object rh = Governor.allocate(Governor.FW_DJL, HOST, 0, 800);
        Governor.keep(rh, h);
        Thread.sleep(25);
        Tensor d = new Tensor("d", 600);
        onDevice(d, 0);
        Governor.allocate(Governor.FW_DJL, DEVICE, 0, 600); // device 1200 > 1000: d must go to host, host needs room
        assertEquals(List.of("h"), bridge.spilled, "HOST made room by spilling to disk");
        assertEquals(List.of("d"), bridge.offloaded);
        assertEquals(600, g.host().used());
        assertEquals(600, g.device(0).used());
        assertTrue(g.disk().used() > 800);
        Governor.release(rh);
        assertEquals(0, g.disk().used(), "releasing a spilled tensor deletes its file");
    }

    @Test
    void releasingAnOffloadedTensorGivesBackItsHostBytes() throws Exception {
        govern("device.limit=1000,spill.low-watermark=1");
        Object ra = onDevice(new Tensor("a", 700), 0);
        Object rb = Governor.allocate(Governor.FW_DJL, DEVICE, 0, 700);
        assertTrue(Governor.offloaded(ra));
        assertEquals(700, g.host().used());
        Governor.release(ra);
        assertEquals(0, g.host().used());
        assertEquals(700, g.device(0).used());
        Governor.release(rb);
        assertEquals(0, g.device(0).used());
        assertEquals(2L, g.snapshot().get("releases"));
    }
}
