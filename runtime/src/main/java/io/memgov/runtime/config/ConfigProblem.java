package io.memgov.runtime.config;

/** One problem found while loading: an error (bad value, missing config file) or a warning (unknown key). */
public final class ConfigProblem {
    private final boolean error;
    private final String key;
    private final String value;
    private final String source;
    private final String message;

    ConfigProblem(boolean error, String key, String value, String source, String message) {
        this.error = error;
        this.key = key;
        this.value = value;
        this.source = source;
        this.message = message;
    }

    /** True for an error, false for a warning. */
    public boolean isError() {
        return error;
    }

    /** The full key, e.g. {@code memgov.host.limit}. */
    public String key() {
        return key;
    }

    /** The raw value as written; may be null. */
    public String value() {
        return value;
    }

    /** Where the value came from, in words, e.g. {@code "environment variable MEMGOV_HOST_LIMIT"}. */
    public String source() {
        return source;
    }

    /** The full user-facing message, starting with {@code "memgov: "}. */
    public String message() {
        return message;
    }

    @Override
    public String toString() {
        return message;
    }
}
