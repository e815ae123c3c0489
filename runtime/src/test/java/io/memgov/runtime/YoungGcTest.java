package io.memgov.runtime;

import org.junit.jupiter.api.Test;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class YoungGcTest {
    static long youngCollections() {
        long n = 0;
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (g.getName().contains("Young") || g.getName().equals("PS Scavenge") || g.getName().equals("Copy")) {
                n += g.getCollectionCount();
            }
        }
        return n;
    }

    static volatile Object sink;

    @Test
    void aYoungCollectionRunsAndFindsAnUnreachableYoungObject() throws Exception {
        // YoungGc fills at most MAX_FILL: an eden with more room (as earlier tests may leave it) is first
        // filled to under half of that here, as an application's allocations would
        for (int i = 0; i < 100_000 && YoungGc.edenRoom() > YoungGc.MAX_FILL / 2; i++) {
            sink = new byte[64 * 1024];
        }
        sink = null;
        ReferenceQueue<Object> queue = new ReferenceQueue<>();
        Object young = new Object();
        PhantomReference<Object> ref = new PhantomReference<>(young, queue);
        young = null;
        long before = youngCollections();
        assertTrue(YoungGc.run(), "this JVM's collector (" + ManagementFactory.getGarbageCollectorMXBeans().get(0).getName()
                + ") has an eden: a young collection must run");
        assertTrue(youngCollections() > before);
        assertNotNull(queue.remove(5000), "the dropped object was found by the young collection");
        assertNotNull(ref); // the reference itself stays reachable to the end
    }
}
