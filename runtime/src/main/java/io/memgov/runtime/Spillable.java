package io.memgov.runtime;

/**
 * Added by the agent to framework array classes whose tensors can be spilled: atomic access to the
 * array's native handle, so a spilled array's handle can be swapped for a sentinel and back.
 */
public interface Spillable {
    /** The current handle. */
    Object memgov$handle();

    /** Sets the handle, returning the previous one. */
    Object memgov$swapHandle(Object handle);

    /** Sets the handle to {@code update} if it is {@code expect}. */
    boolean memgov$casHandle(Object expect, Object update);
}
