package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.memgov.runtime.AdmissionTest.FakeBridge;
import io.memgov.runtime.AdmissionTest.FakeTensor;
import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.log.EventLog;
import io.memgov.runtime.spill.CorruptSpillException;
import io.memgov.runtime.spill.DiskFullException;
import io.memgov.runtime.spill.SpillException;
import io.memgov.runtime.spill.SpillFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Errors that name their real cause: a full disk behind an OOM, unreadable spill files, rate-limited refusals. */
class ErrorsTest {
    private static final int HOST = Tier.HOST.ordinal();
    private static final int DEVICE = Tier.DEVICE.ordinal();
    private static final int DJL = Governor.FW_DJL;

    @TempDir
    Path tmp;

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private MemoryGovernor g;
    private FakeBridge bridge;
    private Path spillDir;

    private MemoryGovernor govern(String options) {
        spillDir = tmp.resolve("spill");
        ConfigLoader.Result r = new ConfigLoader(options + ",disk.dir=" + spillDir, new Properties(), Map.of(),
                tmp, 0, 1, tmp.toString()).load();
        assertTrue(r.errors().isEmpty(), () -> "config errors: " + r.errors());
        MemgovConfig config = r.config();
        g = new MemoryGovernor(config, new EventLog(lines::add, LogFormat.TEXT, LogLevel.INFO));
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

    private static Object kept(FakeTensor t) {
        Object r = Governor.allocate(DJL, HOST, 0, t.data.length);
        Governor.keep(r, t);
        return r;
    }

    private List<String> events(String name, String... parts) {
        return lines.stream().filter(l -> l.contains(" event=" + name + " "))
                .filter(l -> java.util.Arrays.stream(parts).allMatch(l::contains)).collect(Collectors.toList());
    }

    // ---------------------------------------------------------------- the disk behind an OOM

    @Test
    void aRefusalAfterTheDiskLimitStoppedSpillingNamesTheDiskItsUseAndLimitAndTheFix() {
        govern("host.limit=1000,on-limit=spill,disk.limit=100,wait.timeout=100ms");
        FakeTensor ta = new FakeTensor("a", bytes(300, 5));
        Object a = kept(ta);
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class, () -> Governor.allocate(DJL, HOST, 0, 800));
        String m = e.getMessage();
        assertTrue(m.startsWith("memgov: HOST limit reached: requested 800 bytes (800 B), HOST holds 300 bytes"), m);
        assertTrue(m.contains("on-limit=spill: nothing more could be spilled: the DISK tier is at its limit"
                + " (spill files hold 0 bytes (0 B) of memgov.disk.limit=100 bytes (100 B) in memgov.disk.dir="
                + spillDir.toAbsolutePath() + "; a spill file of 328 bytes did not fit)"), m);
        assertTrue(m.contains("and nothing was released within memgov.wait.timeout=100ms"), m);
        assertTrue(m.endsWith(". Raise memgov.disk.limit (or memgov.host.limit), or close arrays that are no longer needed"), m);
        assertFalse(m.contains("tensors in use"), "the disk is the cause, not tensors in use: " + m);
        // the same message in the log's refusal
        assertEquals(1, events("limit", "action=fail", "DISK tier is at its limit").size(), lines::toString);
        // nothing lost: the tensor stays in memory, no file is left
        assertEquals(Tracked.RESIDENT, ((Tracked) a).state());
        assertFalse(ta.spilled);
        assertEquals(300, g.host().used());
        assertEquals(0, g.disk().used());
        assertFalse(Files.exists(spillDir) && spillDir.toFile().list().length > 0);
        Governor.release(a);
    }

    @Test
    void aRefusalAfterTheDiskRanOutOfSpaceSaysSoWithTheDirAndTheFix() {
        govern("host.limit=1000,on-limit=spill,wait.timeout=100ms");
        Path dir = spillDir.toAbsolutePath();
        // what SpillStore throws on ENOSPC (SpillStoreTest gets a real one from /dev/full)
        Governor.registerSpillBridge(DJL, (tensor, record, id, store) -> {
            throw new DiskFullException("memgov: cannot spill tensor " + id + ": the disk of memgov.disk.dir=" + dir
                    + " is full (No space left on device)", 328, 0, -1, dir, true, 12288,
                    new IOException("No space left on device"));
        });
        FakeTensor ta = new FakeTensor("a", bytes(300, 6));
        Object a = kept(ta);
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class, () -> Governor.allocate(DJL, HOST, 0, 800));
        String m = e.getMessage();
        assertTrue(m.contains("on-limit=spill: nothing more could be spilled: the disk of memgov.disk.dir=" + dir
                + " is full (No space left on device; 12288 bytes usable there; spill files hold 0 bytes (0 B) of"
                + " memgov.disk.limit=none)"), m);
        assertTrue(m.endsWith(". Free space on that disk or point memgov.disk.dir to a bigger disk, raise memgov.host.limit,"
                + " or close arrays that are no longer needed"), m);
        assertEquals(Tracked.RESIDENT, ((Tracked) a).state());
        assertEquals(300, g.host().used());
        assertTrue(events("error", "No space left on device").size() >= 1, lines::toString);
        Governor.release(a);
    }

    @Test
    void aRefusalWithoutDiskTroubleStillBlamesTensorsInUse() {
        govern("host.limit=1000,on-limit=spill,wait.timeout=100ms");
        Object plain = Governor.allocate(DJL, HOST, 0, 300); // not spillable: no tensor kept
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class, () -> Governor.allocate(DJL, HOST, 0, 800));
        assertTrue(e.getMessage().contains("nothing more could be spilled (tensors in use, shared or not spillable)"), e.getMessage());
        assertTrue(e.getMessage().endsWith("Raise memgov.host.limit, close arrays that are no longer needed"), e.getMessage());
        Governor.release(plain);
    }

    // ---------------------------------------------------------------- unreadable spill files

    private Object spilled(FakeTensor ta) {
        Object a = kept(ta);
        Object b = Governor.allocate(DJL, HOST, 0, 800); // spills a
        assertTrue(ta.spilled);
        Governor.release(b);
        return a;
    }

    private SpillException failedRestore(Object a, int length) {
        assertTrue(Governor.beginRestore(a));
        boolean ok = false;
        try {
            return assertThrows(SpillException.class, () -> Governor.readSpill(a, ByteBuffer.allocate(length)));
        } finally {
            Governor.endRestore(a, ok);
        }
    }

    @Test
    void aCorruptSpillFileIsAnErrorEventOncePerFileAndTheUseStillFails() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=100ms");
        FakeTensor ta = new FakeTensor("a", bytes(300, 7));
        Object a = spilled(ta);
        SpillFile f = ta.file;
        try (FileChannel ch = FileChannel.open(f.path(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, 100);
            one.put(0, (byte) ~one.get(0)).rewind();
            ch.write(one, 100);
        }
        SpillException e = failedRestore(a, 300);
        assertTrue(e instanceof CorruptSpillException, e.toString());
        List<String> errors = events("error");
        assertEquals(1, errors.size(), lines::toString);
        String line = errors.get(0);
        assertTrue(line.contains("message=\"" + e.getMessage() + "\""), line);
        assertTrue(line.contains("is corrupt (checksum"), line);
        assertTrue(line.contains("exception=\"io.memgov.runtime.spill.CorruptSpillException"), line);
        assertTrue(line.contains(" id=" + ((Tracked) a).id + " "), line);
        assertTrue(line.contains(" bytes=300 "), line);
        assertTrue(line.contains(" file=" + f.path()), line);
        // the application's next use fails again (never wrong data), the log does not repeat itself
        failedRestore(a, 300);
        assertEquals(1, events("error").size(), lines::toString);
        assertEquals(Tracked.SPILLED, ((Tracked) a).state());
        assertEquals(0, g.host().used(), "a failed restore gives its bytes back");
        Governor.release(a);
    }

    @Test
    void aMissingSpillFileIsAnErrorEvent() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=100ms");
        FakeTensor ta = new FakeTensor("a", bytes(300, 8));
        Object a = spilled(ta);
        Files.delete(ta.file.path());
        SpillException e = failedRestore(a, 300);
        assertTrue(e.getMessage().contains("is missing; its data was not restored"), e.getMessage());
        assertEquals(1, events("error", "is missing", "file=" + ta.file.path()).size(), lines::toString);
        Governor.release(a);
    }

    @Test
    void aFileGoneWithItsReleasedTensorIsNoError() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=100ms");
        FakeTensor ta = new FakeTensor("a", bytes(300, 10));
        Object a = spilled(ta);
        assertTrue(Governor.beginRestore(a)); // a prefetch, say, that the tensor's close races
        g.spillStore().delete(ta.file); // what the release does to its file
        assertThrows(SpillException.class, () -> Governor.readSpill(a, ByteBuffer.allocate(300)));
        Governor.endRestore(a, false);
        assertEquals(0, events("error").size(), lines::toString);
        Governor.release(a);
    }

    @Test
    void aGoodRestoreLogsNoError() throws Exception {
        govern("host.limit=1000,on-limit=spill,wait.timeout=100ms");
        FakeTensor ta = new FakeTensor("a", bytes(300, 9));
        Object a = spilled(ta);
        assertTrue(Governor.beginRestore(a));
        ByteBuffer buf = ByteBuffer.allocate(300);
        Governor.readSpill(a, buf);
        Governor.endRestore(a, true);
        assertArrayEquals(ta.data, buf.array());
        assertEquals(0, events("error").size(), lines::toString);
        Governor.release(a);
    }

    // ---------------------------------------------------------------- limit events are rate-limited

    @Test
    void refusalsAreLoggedAtMostOnceASecondPerTierWithTheOthersCounted() throws Exception {
        govern("host.limit=1000,device.limit=1000,on-limit=fail");
        Object a = Governor.allocate(DJL, HOST, 0, 600);
        for (int i = 0; i < 50; i++) {
            assertThrows(MemgovOutOfMemoryError.class, () -> Governor.allocate(DJL, HOST, 0, 500));
        }
        assertEquals(50, g.failures(), "every refusal is counted");
        assertEquals(50L, g.snapshot().get("limit.hits"));
        List<String> fails = events("limit", "action=fail", "tier=host");
        assertEquals(1, fails.size(), lines::toString);
        assertTrue(fails.get(0).contains(" not.logged=0 "), fails.get(0));
        assertTrue(fails.get(0).contains("message=\"memgov: HOST limit reached"), fails.get(0));
        // another tier has its own second
        Object d = Governor.allocate(DJL, DEVICE, 0, 600);
        assertThrows(MemgovOutOfMemoryError.class, () -> Governor.allocate(DJL, DEVICE, 0, 500));
        assertEquals(1, events("limit", "action=fail", "tier=device").size(), lines::toString);
        // a second later the next refusal is logged, with the 49 not logged before it
        Thread.sleep(1050);
        assertThrows(MemgovOutOfMemoryError.class, () -> Governor.allocate(DJL, HOST, 0, 500));
        fails = events("limit", "action=fail", "tier=host");
        assertEquals(2, fails.size(), lines::toString);
        assertTrue(fails.get(1).contains(" not.logged=49 "), fails.get(1));
        Governor.release(a);
        Governor.release(d);
    }

    @Test
    void aRefusalIsLoggedEvenRightAfterASpillActionEventOfTheSameTier() {
        govern("host.limit=1000,on-limit=spill,wait.timeout=50ms");
        Object plain = Governor.allocate(DJL, HOST, 0, 600);
        assertThrows(MemgovOutOfMemoryError.class, () -> Governor.allocate(DJL, HOST, 0, 500));
        assertEquals(1, events("limit", "action=spill", "tier=host").size(), lines::toString);
        assertEquals(1, events("limit", "action=fail", "tier=host").size(), "the refusal, with its message: " + lines);
        Governor.release(plain);
    }
}
