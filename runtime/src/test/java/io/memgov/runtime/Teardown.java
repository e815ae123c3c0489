package io.memgov.runtime;

import java.lang.reflect.Field;

/** Test support: uninstalls the governor and stops what a test's governor started. */
final class Teardown {
    private Teardown() {
    }

    /** Uninstalls the current governor; then closes {@code g}'s spill store and stops its background thread. */
    static void uninstall(Governor g) throws Exception {
        Governor.install(null);
        if (g != null) {
            g.stopPrefetcher();
            g.closeSpills();
            Field f = Governor.class.getDeclaredField("background");
            f.setAccessible(true);
            Thread t = (Thread) f.get(g);
            if (t != null) {
                t.interrupt();
                t.join(1000);
            }
        }
    }
}
