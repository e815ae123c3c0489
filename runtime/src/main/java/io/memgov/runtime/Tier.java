package io.memgov.runtime;

/** Where governed tensor bytes live. */
public enum Tier {
    HOST, DEVICE, DISK;

    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
