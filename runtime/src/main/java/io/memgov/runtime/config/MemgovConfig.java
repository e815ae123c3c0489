package io.memgov.runtime.config;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Immutable, fully-typed configuration. Sizes are bytes; -1 means "none" (no limit). Durations are millis.
 * Built by {@link ConfigLoader}; {@link #defaults()} gives the configuration with nothing set.
 */
public final class MemgovConfig {
    private final Map<String, Object> values;
    private final Map<String, String> raw;
    private final Map<String, Source> sources;
    private final String configFile;

    /**
     * @param values typed values of every value key (as returned by Keys.parse)
     * @param raw raw values of every known key (memgov.config may map to null)
     * @param sources the source of every known key
     * @param configFile the config file read, or null
     */
    MemgovConfig(Map<String, Object> values, Map<String, String> raw, Map<String, Source> sources, String configFile) {
        for (String key : Keys.VALUE_KEYS) {
            if (values.get(key) == null || sources.get(key) == null) {
                throw new IllegalArgumentException("no value for " + key);
            }
        }
        this.values = Collections.unmodifiableMap(new HashMap<>(values));
        this.raw = Collections.unmodifiableMap(new HashMap<>(raw));
        this.sources = Collections.unmodifiableMap(new HashMap<>(sources));
        this.configFile = configFile;
    }

    /** The configuration with every key at its default; disk.dir uses this process's pid and java.io.tmpdir. */
    public static MemgovConfig defaults() {
        return defaults(ProcessHandle.current().pid(), System.getProperty("java.io.tmpdir"));
    }

    static MemgovConfig defaults(long pid, String tmpdir) {
        Map<String, Object> values = new HashMap<>();
        Map<String, String> raw = new HashMap<>();
        Map<String, Source> sources = new HashMap<>();
        for (String key : Keys.VALUE_KEYS) {
            String r = Keys.defaultRaw(key, tmpdir, pid);
            raw.put(key, r);
            values.put(key, Keys.parse(key, r, () -> 0L));
            sources.put(key, Source.DEFAULT);
        }
        raw.put(Keys.CONFIG, null);
        sources.put(Keys.CONFIG, Source.DEFAULT);
        return new MemgovConfig(values, raw, sources, null);
    }

    /** memgov.enabled, default true. */
    public boolean enabled() {
        return (Boolean) values.get(Keys.ENABLED);
    }

    /** memgov.frameworks, default [djl, nd4j]: lower-case names, in the order written, unmodifiable. */
    @SuppressWarnings("unchecked")
    public Set<String> frameworks() {
        return (Set<String>) values.get(Keys.FRAMEWORKS);
    }

    /** memgov.host.limit in bytes, -1 for none (the default). */
    public long hostLimit() {
        Object v = values.get(Keys.HOST_LIMIT);
        return v instanceof AutoLimit ? ((AutoLimit) v).limit() : (Long) v;
    }

    /** How {@code memgov.host.limit=auto} (or {@code auto-N%}) was computed; null when the limit was not auto. */
    public AutoLimit hostLimitAuto() {
        Object v = values.get(Keys.HOST_LIMIT);
        return v instanceof AutoLimit ? (AutoLimit) v : null;
    }

    /** memgov.device.limit in bytes per device, -1 for none (the default). */
    public long deviceLimit() {
        return (Long) values.get(Keys.DEVICE_LIMIT);
    }

    /** memgov.disk.limit in bytes, -1 for none (the default). */
    public long diskLimit() {
        return (Long) values.get(Keys.DISK_LIMIT);
    }

    /** memgov.disk.dir, default {@code <java.io.tmpdir>/memgov-<pid>}. */
    public String diskDir() {
        return (String) values.get(Keys.DISK_DIR);
    }

    /** memgov.on-limit, default SPILL. */
    public OnLimit onLimit() {
        return (OnLimit) values.get(Keys.ON_LIMIT);
    }

    /** memgov.spill.low-watermark, above 0 and at most 1, default 0.8. */
    public double spillLowWatermark() {
        return (Double) values.get(Keys.SPILL_LOW_WATERMARK);
    }

    /** memgov.wait.timeout in millis, default 10000. */
    public long waitTimeoutMillis() {
        return (Long) values.get(Keys.WAIT_TIMEOUT);
    }

    /** memgov.pool.enabled, default true. */
    /** memgov.native.trim: with a HOST limit, give memory the C heap keeps back to the OS (NativeHeap). */
    public boolean nativeTrim() {
        return (Boolean) values.get(Keys.NATIVE_TRIM);
    }

    /**
     * memgov.prefetch: {@code auto} restores spilled tensors ahead of use when spilling is on, while a
     * trial finds it faster; {@code on} does so always (never judged, never paused); {@code off} never.
     */
    public boolean prefetch() {
        return !"off".equals(values.get(Keys.PREFETCH));
    }

    /** memgov.prefetch=on: prefetching is not judged by its trial nor paused when it races its uses. */
    public boolean prefetchAlways() {
        return "on".equals(values.get(Keys.PREFETCH));
    }

    public boolean poolEnabled() {
        return (Boolean) values.get(Keys.POOL_ENABLED);
    }

    /** memgov.pool.max in bytes, default 256 MiB. */
    public long poolMax() {
        return (Long) values.get(Keys.POOL_MAX);
    }

    /** memgov.log.file as written, default "memgov.log"; "stderr" and "stdout" are special. */
    public String logFile() {
        return (String) values.get(Keys.LOG_FILE);
    }

    /** memgov.log.level, default INFO. */
    public LogLevel logLevel() {
        return (LogLevel) values.get(Keys.LOG_LEVEL);
    }

    /** memgov.log.format, default TEXT. */
    public LogFormat logFormat() {
        return (LogFormat) values.get(Keys.LOG_FORMAT);
    }

    /** memgov.report.interval in millis, default 60000; 0 turns the report off. */
    public long reportIntervalMillis() {
        return (Long) values.get(Keys.REPORT_INTERVAL);
    }

    /** memgov.strict, default false. */
    public boolean strict() {
        return (Boolean) values.get(Keys.STRICT);
    }

    /** memgov.sites, default SAMPLE. */
    public SiteMode sites() {
        return (SiteMode) values.get(Keys.SITES);
    }

    /** memgov.sites.sample.bytes: with sites=sample, the mean bytes between sampled allocations (at least), default 512 KiB. */
    public long sitesSampleBytes() {
        return (Long) values.get(Keys.SITES_SAMPLE_BYTES);
    }

    /** The absolute path of the config file actually read, or null when none was read. */
    public String configFile() {
        return configFile;
    }

    /**
     * Where a key's effective value came from. For a key whose value was bad, DEFAULT (it keeps its default).
     * For memgov.config: the source that named the config file, DEFAULT when none did.
     *
     * @throws IllegalArgumentException for a key that is not known
     */
    public Source sourceOf(String key) {
        Source s = sources.get(key);
        if (s == null) {
            throw new IllegalArgumentException("unknown key: " + key);
        }
        return s;
    }

    /**
     * The effective raw string value of a key, defaults included (e.g. "25%" for a host.limit of 25%).
     * For memgov.config: the path as written, null when no source named one.
     *
     * @throws IllegalArgumentException for a key that is not known
     */
    public String rawValue(String key) {
        if (!sources.containsKey(key)) {
            throw new IllegalArgumentException("unknown key: " + key);
        }
        return raw.get(key);
    }

    /** The keys a running governor can change ({@link #with}): limits, on-limit, spill, wait, report and log level. */
    public static final java.util.List<String> LIVE_KEYS = java.util.Collections.unmodifiableList(java.util.Arrays.asList(
            Keys.HOST_LIMIT, Keys.DEVICE_LIMIT, Keys.DISK_LIMIT, Keys.ON_LIMIT, Keys.SPILL_LOW_WATERMARK,
            Keys.WAIT_TIMEOUT, Keys.REPORT_INTERVAL, Keys.LOG_LEVEL, Keys.NATIVE_TRIM));

    /**
     * This configuration with {@code key} set to {@code raw} from {@code source} ({@code sourceText}
     * in messages, e.g. "JMX"). The value is checked as at start.
     *
     * @throws IllegalArgumentException with the message the loader gives at start, e.g.
     *     {@code memgov: memgov.host.limit=4gb (from JMX) is not a size: use e.g. 512m, 4g, 25% or none};
     *     or for a key that is not a value key
     */
    public MemgovConfig with(String key, String raw, Source source, String sourceText) {
        String k = key.startsWith(Keys.PREFIX) ? key : Keys.PREFIX + key;
        if (!Keys.VALUE_KEYS.contains(k)) {
            throw new IllegalArgumentException("memgov: unknown key " + key);
        }
        Object typed;
        try {
            typed = Keys.parse(k, raw, ConfigLoader.physicalRam());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("memgov: " + k + "=" + raw + " (from " + sourceText + ") " + e.getMessage());
        }
        Map<String, Object> v = new HashMap<>(values);
        Map<String, String> r = new HashMap<>(raw(this));
        Map<String, Source> s = new HashMap<>(sources);
        v.put(k, typed);
        r.put(k, raw);
        s.put(k, source);
        return new MemgovConfig(v, r, s, configFile);
    }

    private static Map<String, String> raw(MemgovConfig c) {
        return c.raw;
    }

    @Override
    public String toString() {
        Map<String, String> shown = new LinkedHashMap<>();
        for (String key : Keys.ALL) {
            shown.put(key, raw.get(key) + " (" + sources.get(key).label() + ")");
        }
        return "MemgovConfig" + shown + (configFile == null ? "" : " from " + configFile);
    }
}
