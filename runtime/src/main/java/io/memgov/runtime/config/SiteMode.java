package io.memgov.runtime.config;

import java.util.Locale;

/** Which allocations record their allocation site ({@code memgov.sites}). */
public enum SiteMode {
    /** One allocation in about 256, and every large one (16 MiB or more). */
    SAMPLE,
    /** Every allocation (a stack walk each: for finding leaks, not for production). */
    ALL,
    /** None: no stack walks, no site lists in report/summary. */
    OFF;

    /** The name as written in the configuration: {@code "sample"}, {@code "all"} or {@code "off"}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
