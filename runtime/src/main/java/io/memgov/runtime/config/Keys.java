package io.memgov.runtime.config;

import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

/** The v1 keys, their defaults and their value types. Package-private: the public face is ConfigLoader/MemgovConfig. */
final class Keys {
    static final String PREFIX = "memgov.";

    static final String ENABLED = "memgov.enabled";
    static final String FRAMEWORKS = "memgov.frameworks";
    static final String HOST_LIMIT = "memgov.host.limit";
    static final String DEVICE_LIMIT = "memgov.device.limit";
    static final String DISK_LIMIT = "memgov.disk.limit";
    static final String DISK_DIR = "memgov.disk.dir";
    static final String ON_LIMIT = "memgov.on-limit";
    static final String SPILL_LOW_WATERMARK = "memgov.spill.low-watermark";
    static final String WAIT_TIMEOUT = "memgov.wait.timeout";
    static final String POOL_ENABLED = "memgov.pool.enabled";
    static final String POOL_MAX = "memgov.pool.max";
    static final String LOG_FILE = "memgov.log.file";
    static final String LOG_LEVEL = "memgov.log.level";
    static final String LOG_FORMAT = "memgov.log.format";
    static final String REPORT_INTERVAL = "memgov.report.interval";
    static final String STRICT = "memgov.strict";
    static final String SITES = "memgov.sites";
    static final String SITES_SAMPLE_BYTES = "memgov.sites.sample.bytes";
    static final String NATIVE_TRIM = "memgov.native.trim";
    static final String PREFETCH = "memgov.prefetch";
    static final String CONFIG = "memgov.config";

    /** The keys that carry a value, in CONTRACT order. */
    static final List<String> VALUE_KEYS = Collections.unmodifiableList(Arrays.asList(
            ENABLED, FRAMEWORKS, HOST_LIMIT, DEVICE_LIMIT, DISK_LIMIT, DISK_DIR, ON_LIMIT, SPILL_LOW_WATERMARK,
            WAIT_TIMEOUT, POOL_ENABLED, POOL_MAX, LOG_FILE, LOG_LEVEL, LOG_FORMAT, REPORT_INTERVAL, STRICT, SITES,
            NATIVE_TRIM, PREFETCH, SITES_SAMPLE_BYTES));

    /** Every known key: the value keys plus memgov.config. */
    static final List<String> ALL;

    static {
        String[] all = VALUE_KEYS.toArray(new String[VALUE_KEYS.size() + 1]);
        all[all.length - 1] = CONFIG;
        ALL = Collections.unmodifiableList(Arrays.asList(all));
    }

    static final List<String> FRAMEWORK_NAMES = Collections.unmodifiableList(Arrays.asList("djl", "nd4j"));

    static final String FRAMEWORKS_FORM = "use a comma-separated list of djl, nd4j";
    static final String ON_LIMIT_FORM = "is not one of spill, wait, fail";
    static final String LOG_FORMAT_FORM = "is not one of text, json";
    static final String LOG_LEVEL_FORM = "is not one of trace, debug, info, warn, error, off";
    static final String SITES_FORM = "is not one of sample, all, off";
    static final String PREFETCH_FORM = "is not one of auto, on, off";
    static final String WATERMARK_FORM = "is not a fraction: use a number above 0 and at most 1, e.g. 0.8";

    private static final Pattern FRACTION = Pattern.compile("[0-9]+(\\.[0-9]+)?|\\.[0-9]+");

    private Keys() {
    }

    static boolean isKnown(String key) {
        return ALL.contains(key);
    }

    /** The environment variable of a key: upper-cased, '.' and '-' turned into '_'. */
    static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** The raw default of a value key. */
    static String defaultRaw(String key, String tmpdir, long pid) {
        switch (key) {
            case PREFETCH:
                return "auto";
            case ENABLED:
            case POOL_ENABLED:
            case NATIVE_TRIM:
                return "true";
            case STRICT:
                return "false";
            case FRAMEWORKS:
                return "djl,nd4j";
            case HOST_LIMIT:
            case DEVICE_LIMIT:
            case DISK_LIMIT:
                return "none";
            case DISK_DIR:
                return Paths.get(tmpdir == null || tmpdir.isEmpty() ? "." : tmpdir, "memgov-" + pid).toString();
            case ON_LIMIT:
                return "spill";
            case SPILL_LOW_WATERMARK:
                return "0.8";
            case WAIT_TIMEOUT:
                return "10s";
            case POOL_MAX:
                return "256m";
            case LOG_FILE:
                return "memgov.log";
            case LOG_LEVEL:
                return "info";
            case LOG_FORMAT:
                return "text";
            case REPORT_INTERVAL:
                return "60s";
            case SITES:
                return "sample";
            case SITES_SAMPLE_BYTES:
                return "512k";
            default:
                throw new IllegalArgumentException("not a value key: " + key);
        }
    }

    /**
     * Parses the raw value of a value key into its typed form (Boolean, Set of String, Long, String, OnLimit,
     * Double, LogLevel, LogFormat, SiteMode). Throws IllegalArgumentException with the expected-form text.
     */
    static Object parse(String key, String raw, LongSupplier physicalRam) {
        return parse(key, raw, physicalRam, THIS_JVM);
    }

    /** This JVM's inputs of {@code host.limit=auto}, read once on first use. */
    static final java.util.function.Supplier<AutoLimit.Inputs> THIS_JVM = new java.util.function.Supplier<AutoLimit.Inputs>() {
        private AutoLimit.Inputs inputs;

        @Override
        public synchronized AutoLimit.Inputs get() {
            if (inputs == null) {
                inputs = AutoLimit.Inputs.ofThisJvm();
            }
            return inputs;
        }
    };

    /**
     * As {@link #parse(String, String, LongSupplier)}; {@code memgov.host.limit=auto} (or {@code auto-N%})
     * gives an {@link AutoLimit} computed from {@code autoInputs}.
     */
    static Object parse(String key, String raw, LongSupplier physicalRam, java.util.function.Supplier<AutoLimit.Inputs> autoInputs) {
        switch (key) {
            case PREFETCH:
                if (raw.trim().equalsIgnoreCase("auto") || raw.trim().equalsIgnoreCase("on") || raw.trim().equalsIgnoreCase("off")) {
                    return raw.trim().toLowerCase(Locale.ROOT);
                }
                throw new IllegalArgumentException(PREFETCH_FORM);
            case ENABLED:
            case POOL_ENABLED:
            case NATIVE_TRIM:
            case STRICT:
                return Values.parseBoolean(raw);
            case FRAMEWORKS:
                return parseFrameworks(raw);
            case HOST_LIMIT:
                if (AutoLimit.isAuto(raw)) {
                    return AutoLimit.parse(raw, autoInputs);
                }
                return Values.parseSize(raw, physicalRam);
            case DEVICE_LIMIT:
            case DISK_LIMIT:
            case POOL_MAX:
                return Values.parseSize(raw, physicalRam);
            case DISK_DIR:
                return parsePath(raw, "is empty: use a directory path");
            case LOG_FILE:
                return LogFileName.check(parsePath(raw, "is empty: use a file path, stderr or stdout"));
            case ON_LIMIT:
                return parseEnum(OnLimit.class, raw, ON_LIMIT_FORM);
            case LOG_LEVEL:
                return parseEnum(LogLevel.class, raw, LOG_LEVEL_FORM);
            case LOG_FORMAT:
                return parseEnum(LogFormat.class, raw, LOG_FORMAT_FORM);
            case SITES:
                return parseEnum(SiteMode.class, raw, SITES_FORM);
            case SITES_SAMPLE_BYTES:
                return parsePositiveSize(raw, physicalRam);
            case SPILL_LOW_WATERMARK:
                return parseFraction(raw);
            case WAIT_TIMEOUT:
            case REPORT_INTERVAL:
                return Values.parseDuration(raw);
            default:
                throw new IllegalStateException("not a value key: " + key);
        }
    }

    private static Set<String> parseFrameworks(String raw) {
        Set<String> names = new LinkedHashSet<>();
        if (raw != null) {
            for (String part : raw.split(",", -1)) {
                String name = part.trim().toLowerCase(Locale.ROOT);
                if (name.isEmpty()) {
                    continue;
                }
                if (!FRAMEWORK_NAMES.contains(name)) {
                    throw new IllegalArgumentException("names an unknown framework " + part.trim() + ": " + FRAMEWORKS_FORM);
                }
                names.add(name);
            }
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("names no framework: " + FRAMEWORKS_FORM
                    + " (memgov.enabled=false turns memgov off)");
        }
        return Collections.unmodifiableSet(names);
    }

    static final String SAMPLE_BYTES_FORM = "is not a size above 0: use e.g. 512k or 4m";

    private static Long parsePositiveSize(String raw, LongSupplier physicalRam) {
        long v;
        try {
            v = Values.parseSize(raw, physicalRam);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(SAMPLE_BYTES_FORM);
        }
        if (v <= 0) {
            throw new IllegalArgumentException(SAMPLE_BYTES_FORM);
        }
        return v;
    }

    private static String parsePath(String raw, String emptyForm) {
        if (raw == null || raw.trim().isEmpty()) {
            throw new IllegalArgumentException(emptyForm);
        }
        return raw.trim();
    }

    private static <E extends Enum<E>> E parseEnum(Class<E> type, String raw, String form) {
        if (raw != null) {
            String t = raw.trim();
            for (E e : type.getEnumConstants()) {
                if (e.name().equalsIgnoreCase(t)) {
                    return e;
                }
            }
        }
        throw new IllegalArgumentException(form);
    }

    private static double parseFraction(String raw) {
        if (raw != null) {
            String t = raw.trim();
            if (FRACTION.matcher(t).matches()) {
                double d = Double.parseDouble(t);
                if (d > 0 && d <= 1) {
                    return d;
                }
            }
        }
        throw new IllegalArgumentException(WATERMARK_FORM);
    }
}
