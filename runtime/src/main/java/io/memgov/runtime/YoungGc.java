package io.memgov.runtime;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;

/**
 * A young collection, brought on by filling what is left of the young generation's eden with
 * short-lived garbage on memgov's own thread. Arrays a framework releases only through the GC (ND4J's,
 * dropped without close()) are young too, so a young collection finds them, and costs the application
 * a pause of a few milliseconds where {@code System.gc()} (a full collection) costs tens.
 *
 * <p>Used only where it is cheap and known to work: a collector with an eden pool and a young
 * collector the JVM names (G1, Parallel, Serial), and at most {@link #MAX_FILL} bytes to allocate.
 * Otherwise {@link #run} returns false and the caller falls back to {@code System.gc()}.
 */
final class YoungGc {
    /** Filling more than this would cost more than a full collection saves. */
    static final long MAX_FILL = 64L << 20;
    private static final int CHUNK = 128 * 1024; // well under G1's humongous threshold
    /** Keeps the JIT from eliding the garbage. */
    static volatile Object sink;
    private static volatile boolean unusable;
    private static MemoryPoolMXBean eden;
    private static GarbageCollectorMXBean young;

    private YoungGc() {
    }

    /** True when a young collection ran (or the eden was already being collected). */
    static boolean run() {
        if (unusable) {
            return false;
        }
        try {
            if (eden == null && !find()) {
                unusable = true;
                return false;
            }
            long room = edenRoom();
            if (room == Long.MIN_VALUE || room > MAX_FILL) {
                return false;
            }
            long before = young.getCollectionCount();
            long fill = Math.max(0, room) + 2L * CHUNK;
            for (long done = 0; done < fill + MAX_FILL && young.getCollectionCount() == before; done += CHUNK) {
                sink = new byte[CHUNK];
            }
            sink = null;
            return young.getCollectionCount() != before;
        } catch (Throwable t) {
            unusable = true;
            return false;
        }
    }

    /** The eden's committed bytes not in use, or {@link Long#MIN_VALUE} where there is no eden (or none committed). */
    static long edenRoom() {
        if (eden == null && !find()) {
            return Long.MIN_VALUE;
        }
        MemoryUsage u = eden.getUsage();
        return u.getCommitted() <= 0 ? Long.MIN_VALUE : u.getCommitted() - u.getUsed();
    }

    private static boolean find() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getName().endsWith("Eden Space")) {
                eden = p;
            }
        }
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            String n = g.getName();
            if (n.equals("G1 Young Generation") || n.equals("PS Scavenge") || n.equals("Copy")) {
                young = g;
            }
        }
        return eden != null && young != null;
    }
}
