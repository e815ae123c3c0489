package io.memgov.agent;

/** The agent's version, from its jar manifest; loads no runtime class (safe in tool mode). */
public final class AgentVersion {
    private AgentVersion() {
    }

    public static String get() {
        String v = AgentVersion.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
