package io.memgov.runtime;

/**
 * Added by the agent to framework array classes that compute their shape and data type lazily
 * with native calls: the governor reads both when it counts a new array and leaves them on the
 * array, where the framework's lazy getters find them instead of asking the native library again.
 */
public interface Described {
    /** Leaves the array's sizes and data type (an index into the framework's types; -1 unknown). */
    void memgov$describe(long[] sizes, int dataType);

    /** The sizes left by {@link #memgov$describe}, or null. */
    long[] memgov$sizes();

    /** The data type left by {@link #memgov$describe}, or -1. */
    int memgov$dataType();
}
