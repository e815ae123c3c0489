package io.memgov.runtime;

import io.memgov.runtime.config.LogLevel;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Sees an OOM kill coming: once a second (the governor's thread), when the process's RSS reaches 90%
 * of the container's memory limit while governed HOST memory is under its own limit (or has none),
 * one {@code warn} event {@code rss-high} says so, with where the resident bytes are (the report's
 * process fields), so the user sees what to lower. At most one a minute while it lasts; the next one
 * counts those not logged ({@code not.logged}).
 */
public final class RssWatch implements Runnable {
    static final double SHARE = 0.9;
    static final long EVERY_MILLIS = 60_000;

    private final MemoryGovernor governor;
    private final long containerLimit;
    private final LongSupplier rss;
    private final LongSupplier clock;
    private long lastLogged = Long.MIN_VALUE;
    private long notLogged;
    /** How many rss-high events were logged (tests). */
    long logged;

    public RssWatch(MemoryGovernor governor, long containerLimit) {
        this(governor, containerLimit, ProcessMemory::rss, System::currentTimeMillis);
    }

    RssWatch(MemoryGovernor governor, long containerLimit, LongSupplier rss, LongSupplier clock) {
        this.governor = governor;
        this.containerLimit = containerLimit;
        this.rss = rss;
        this.clock = clock;
    }

    @Override
    public void run() {
        long now = rss.getAsLong();
        if (containerLimit <= 0 || now < 0 || now < (long) (containerLimit * SHARE)) {
            return;
        }
        Budget host = governor.host();
        long limit = host.limit();
        if (limit >= 0 && host.used() >= limit) {
            return; // governed memory is at its limit: the limit events say so
        }
        long t = clock.getAsLong();
        if (lastLogged != Long.MIN_VALUE && t - lastLogged < EVERY_MILLIS) {
            notLogged++;
            return;
        }
        lastLogged = t;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rss", now);
        m.put("container.limit", containerLimit);
        m.put("rss.of.limit", String.format(java.util.Locale.ROOT, "%.3f", (double) now / containerLimit));
        m.put("host.used", host.used());
        m.put("host.limit", limit);
        Map<String, Object> process = new LinkedHashMap<>();
        ProcessMemory.put(process, host.used());
        process.remove("rss");
        m.putAll(process);
        m.put("not.logged", notLogged);
        m.put("message", "memgov: the process's RSS is " + Math.round(100.0 * now / containerLimit)
                + "% of the container's memory limit while governed memory is under its limit: the container"
                + " may be OOM-killed; see heap.committed, direct.used and native.other for where it is, and lower"
                + " host.limit, -Xmx or -XX:MaxDirectMemorySize, or raise the container's limit");
        notLogged = 0;
        logged++;
        governor.log().emit(LogLevel.WARN, "rss-high", m);
    }
}
