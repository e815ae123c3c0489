package io.memgov.runtime;

/** Test support: uninstalls the governor and stops what a test's governor started. */
final class Teardown {
    private Teardown() {
    }

    /** Uninstalls the current governor; then closes {@code g} (its threads stop, its spill files go). */
    static void uninstall(MemoryGovernor g) {
        Governor.install(null);
        if (g != null) {
            g.close();
        }
    }
}
