package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.log.EventLog;
import io.memgov.runtime.pool.BufferPool;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The governor's side of pooling: leases tied to storages, HOST accounting, trimming on a limit. */
class PoolGovernorTest {
    private static final int HOST = Tier.HOST.ordinal();
    private static final int DJL = Governor.FW_DJL;
    private static final int D = Governor.POOL_DIRECT;
    private static final long C = 1024 * 1024; // a class size

    @TempDir
    Path tmp;

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private MemoryGovernor g;

    private MemoryGovernor govern(String options) {
        ConfigLoader.Result r = new ConfigLoader(options + ",disk.dir=" + tmp.resolve("spill"), new Properties(),
                Map.of(), tmp, 0, 1, tmp.toString()).load();
        assertTrue(r.errors().isEmpty(), () -> "config errors: " + r.errors());
        g = new MemoryGovernor(r.config(), new EventLog(lines::add, LogFormat.TEXT, LogLevel.DEBUG));
        Governor.install(g);
        return g;
    }

    @AfterEach
    void uninstall() throws Exception {
        Teardown.uninstall(g);
    }

    private long snap(String key) {
        return (Long) g.snapshot().get(key);
    }

    /** A storage of {@code bytes} living in a pooled buffer of class C, as the DJL helper makes one. */
    private Object pooledStorage(long bytes) {
        ByteBuffer block = (ByteBuffer) Governor.poolTake(D, C);
        if (block == null) {
            block = ByteBuffer.allocateDirect((int) C);
        }
        Object record = Governor.allocate(DJL, HOST, 0, bytes);
        assertTrue(Governor.poolAttach(record, D, block, C));
        return record;
    }

    @Test
    void theBufferGoesBackWithTheLastArrayOverItsStorage() {
        govern("");
        assertTrue(Governor.poolEnabled());
        Object a = pooledStorage(C - 100);
        assertEquals(1L, snap("pool.misses"));
        Object view = Governor.share(a);
        Governor.release(a);
        assertEquals(0L, snap("pool.bytes"), "a view still points into it");
        assertNull(Governor.poolTake(D, C));
        Governor.release(view);
        assertEquals(C, snap("pool.bytes"));
        assertEquals(C, snap("host.used"), "pooled bytes count against HOST");
        assertEquals(0L, snap("host.used.djl"), "but no framework holds them");
        Object b = pooledStorage(C);
        assertEquals(1L, snap("pool.hits"));
        assertEquals(0L, snap("pool.bytes"));
        assertEquals(C, snap("host.used"), "counted once: by the storage now");
        Governor.release(b);
        g.summary();
        assertTrue(lines.stream().anyMatch(l -> l.contains("event=summary") && l.contains("pool.hits=1 ")
                && l.contains("pool.misses=2 ")), lines::toString);
    }

    @Test
    void anAttachOnlyTiesAStorageOwnerOnce() {
        govern("");
        Object a = Governor.allocate(DJL, HOST, 0, 100);
        ByteBuffer block = ByteBuffer.allocateDirect((int) C);
        assertTrue(Governor.poolAttach(a, D, block, C));
        assertFalse(Governor.poolAttach(a, D, ByteBuffer.allocateDirect((int) C), C), "one buffer per storage");
        assertFalse(Governor.poolAttach(Governor.share(a), D, ByteBuffer.allocateDirect((int) C), C), "not a view");
        assertFalse(Governor.poolAttach(null, D, block, C));
    }

    @Test
    void pooledBytesStayWithinTheHostLimitAndAreTrimmedBeforeAnAllocationFails() {
        govern("host.limit=3m,on-limit=fail");
        Object a = pooledStorage(C);
        Object b = pooledStorage(C);
        Governor.release(a);
        Governor.release(b);
        assertEquals(2 * C, snap("pool.bytes"));
        assertEquals(2 * C, snap("host.used"));
        // 2 MiB idle in the pool + 2 MiB asked: over the limit; trimming the pool lets it in without failing
        Object big = Governor.allocate(DJL, HOST, 0, 2 * C);
        assertNotNull(big);
        assertEquals(0L, snap("failures"));
        assertEquals(C, snap("pool.bytes"), "trimmed only as much as needed");
        assertEquals(3 * C, snap("host.used"));
        assertEquals(1L, snap("pool.dropped"));
        Governor.release(big);
        assertEquals(C, snap("host.used"));
        // a storage released while HOST is too full to hold its buffer too: the buffer is freed, not pooled
        Object c = pooledStorage(C - 20);
        assertEquals(0L, snap("pool.bytes"));
        Object more = Governor.allocate(DJL, HOST, 0, 2 * C + 10);
        Governor.release(c);
        assertEquals(0L, snap("pool.bytes"), "not pooled over the limit");
        assertEquals(2 * C + 10, snap("host.used"));
        MemgovOutOfMemoryError e = assertThrows(MemgovOutOfMemoryError.class,
                () -> Governor.allocate(DJL, HOST, 0, C));
        assertTrue(e.getMessage().startsWith("memgov: HOST limit reached"), e.getMessage());
        Governor.release(more);
        assertEquals(0L, snap("host.used"));
    }

    @Test
    void theCapBoundsThePool() {
        govern("pool.max=2m");
        Object[] r = {pooledStorage(C), pooledStorage(C), pooledStorage(C)};
        for (Object o : r) {
            Governor.release(o);
        }
        assertEquals(2 * C, snap("pool.bytes"));
        assertEquals(2 * C, snap("host.used"), "the one the pool did not take was freed, uncounted");
    }

    @Test
    void idleBuffersAreTrimmed() {
        govern("");
        Governor.release(pooledStorage(C));
        assertEquals(C, snap("pool.bytes"));
        g.trimIdlePool();
        assertEquals(C, snap("pool.bytes"), "not idle long enough");
        setNow(Governor.POOL_IDLE_MILLIS + 1);
        g.trimIdlePool();
        assertEquals(0L, snap("pool.bytes"));
        assertEquals(0L, snap("host.used"));
    }

    @Test
    void poolingOffRestoresPlainBehaviour() {
        govern("pool.enabled=false");
        assertFalse(Governor.poolEnabled());
        assertNull(g.pool());
        Object a = Governor.allocate(DJL, HOST, 0, 100);
        assertFalse(Governor.poolAttach(a, D, ByteBuffer.allocateDirect((int) C), C));
        assertNull(Governor.poolTake(D, C));
        Governor.release(a);
        assertEquals(0L, snap("host.used"));
        assertEquals(0L, snap("pool.misses"));
        govern("pool.max=0");
        assertFalse(Governor.poolEnabled());
    }

    @Test
    void anEntryGivenDirectlyIsPooled() {
        govern("");
        ByteBuffer block = ByteBuffer.allocateDirect((int) C);
        Governor.poolGive(D, block, C);
        assertSame(block, Governor.poolTake(D, C));
        assertEquals(BufferPool.classSize(C), C);
    }

    @Test
    void anotherKindOfEntryIsPooledApartAndFreedByItsOwnFreer() {
        govern("");
        List<Object> freed = new CopyOnWriteArrayList<>();
        int kind = Governor.poolKind((e, bytes) -> freed.add(e));
        assertTrue(kind > D);
        Object nativeBlock = new Object();
        Object record = Governor.allocate(DJL, HOST, 0, C);
        assertTrue(Governor.poolAttach(record, kind, nativeBlock, C));
        Governor.release(record);
        assertNull(Governor.poolTake(D, C), "kinds never mix");
        assertEquals(C, snap("pool.bytes"));
        g.trimPool(1);
        assertEquals(List.of(nativeBlock), freed);
        govern("pool.enabled=false");
        assertEquals(-1, Governor.poolKind((e, bytes) -> { }));
    }

    private void setNow(int millis) {
        try {
            Field f = MemoryGovernor.class.getDeclaredField("nowMillis");
            f.setAccessible(true);
            f.setInt(g, millis);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
