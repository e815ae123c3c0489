package io.memgov.runtime.config;

import java.util.Locale;

/** What an allocation over a limit does ({@code memgov.on-limit}). */
public enum OnLimit {
    SPILL, WAIT, FAIL;

    /** The name as written in the configuration: {@code "spill"}, {@code "wait"} or {@code "fail"}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
