package io.memgov.runtime.config;

/** Where a configuration value came from, highest precedence first. {@link #label()} is used in messages. */
public enum Source {
    /** A live change through the JMX MBean ({@code io.memgov:type=Governor}). */
    JMX("JMX"),
    AGENT_OPTIONS("agent options"),
    SYSTEM_PROPERTY("system property"),
    ENVIRONMENT("environment variable"),
    CONFIG_FILE("config file"),
    DEFAULT("default");

    private final String label;

    Source(String label) {
        this.label = label;
    }

    /** The human name of this source, e.g. {@code "system property"}. */
    public String label() {
        return label;
    }
}
