package io.memgov.testsite;

import io.memgov.runtime.Governor;

/** A caller outside memgov's packages: its frames are allocation sites. */
public final class Allocator {
    private Allocator() {
    }

    public static Object allocate(long bytes) {
        return Governor.allocate(Governor.FW_DJL, 0, 0, bytes); // line 11: the site
    }

    public static Object allocateNd4j(long bytes) {
        return Governor.allocate(Governor.FW_ND4J, 0, 0, bytes); // line 15
    }

    /** Three more sites, for a caller in memgov's packages that allocates through {@code alloc} (its frames are skipped). */
    public static Object siteA(java.util.function.LongFunction<Object> alloc, long bytes) {
        return alloc.apply(bytes);
    }

    public static Object siteB(java.util.function.LongFunction<Object> alloc, long bytes) {
        return alloc.apply(bytes);
    }

    public static Object siteC(java.util.function.LongFunction<Object> alloc, long bytes) {
        return alloc.apply(bytes);
    }
}
