package io.memgov.runtime;

/**
 * Added by the agent to framework array classes at load time: the slot where the governor keeps
 * the array's {@link Tracked} record. Lives on the bootstrap class path so any loader sees it.
 */
public interface Governed {
    Object memgov$tracked();

    void memgov$tracked(Object tracked);
}
