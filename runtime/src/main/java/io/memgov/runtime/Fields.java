package io.memgov.runtime;

/**
 * The names of the {@code report} and {@code summary} fields: one schema for the writer
 * ({@link MemoryGovernor#figures}, {@link ProcessMemory}, {@link Metrics}) and for the log's reader
 * (the agent's {@code report} command). The names are the log's contract (CONTRACT.md): add, never
 * rename.
 *
 * <p>Only compile-time constants live here: javac copies them into the classes that use them, so the
 * report command (run with {@code java -jar}, where the runtime is not on the class path: it travels
 * nested in the agent jar for the bootstrap class path) needs no class of the runtime at run time.
 */
public final class Fields {
    private Fields() {
    }

    // tiers, in CONTRACT order
    public static final String HOST_USED = "host.used";
    public static final String HOST_PEAK = "host.peak";
    public static final String HOST_LIMIT = "host.limit";
    public static final String DEVICE_USED = "device.used";
    public static final String DEVICE_PEAK = "device.peak";
    public static final String DEVICE_LIMIT = "device.limit";
    public static final String DISK_USED = "disk.used";
    public static final String DISK_PEAK = "disk.peak";
    public static final String DISK_LIMIT = "disk.limit";
    /** Suffixes of a tier's fields ({@code host.used}, {@code device.0.peak}, ...). */
    public static final String USED = ".used";
    public static final String PEAK = ".peak";
    public static final String LIMIT = ".limit";
    /** Prefix of one device's fields: {@code device.N.used}, {@code device.N.peak}. */
    public static final String DEVICE_PREFIX = "device.";
    /** Prefixes of one framework's HOST fields: {@code host.used.NAME}, {@code host.peak.NAME}. */
    public static final String HOST_USED_PREFIX = HOST_USED + ".";
    public static final String HOST_PEAK_PREFIX = HOST_PEAK + ".";

    // counts
    public static final String ALLOCATIONS = "allocations";
    public static final String RELEASES = "releases";
    public static final String SPILLS = "spills";
    public static final String RESTORES = "restores";
    public static final String SPILL_BYTES = "spill.bytes";
    public static final String RESTORE_BYTES = "restore.bytes";
    public static final String POOL_HITS = "pool.hits";
    public static final String POOL_MISSES = "pool.misses";
    public static final String FAILURES = "failures";
    public static final String LIMIT_HITS = "limit.hits";
    public static final String SPILL_MICROS = "spill.micros";
    public static final String RESTORE_MICROS = "restore.micros";
    public static final String DISK_FAILURES = "disk.failures";
    public static final String OFFLOADS = "offloads";
    public static final String OFFLOAD_BYTES = "offload.bytes";
    public static final String SPILLS_CLEAN = "spills.clean";
    public static final String SPILL_CLEAN_BYTES = "spill.clean.bytes";
    public static final String SPILL_CLEAN_MICROS = "spill.clean.micros";
    public static final String LIVE = "live";
    public static final String POOL_BYTES = "pool.bytes";
    public static final String GC_REQUESTS = "gc.requests";
    public static final String PREFETCHES = "prefetches";
    public static final String PREFETCH_HITS = "prefetch.hits";
    public static final String PREFETCH_WASTED = "prefetch.wasted";
    public static final String PREFETCH_BYTES = "prefetch.bytes";
    public static final String RESTORES_WAITED = "restores.waited";
    public static final String PREFETCH_PAUSES = "prefetch.pauses";
    public static final String NATIVE_TRIMS = "native.trims";
    public static final String NATIVE_TRIM_BYTES = "native.trim.bytes";
    public static final String NATIVE_TRIM_MICROS = "native.trim.micros";
    public static final String POOL_DROPPED = "pool.dropped";
    public static final String ALLOCATED_BYTES = "allocated.bytes";
    public static final String UPTIME_MS = "uptime.ms";

    // the process ({@link ProcessMemory})
    public static final String RSS = "rss";
    public static final String RSS_PEAK = "rss.peak";
    public static final String HEAP_USED = "heap.used";
    public static final String HEAP_COMMITTED = "heap.committed";
    public static final String NONHEAP_COMMITTED = "nonheap.committed";
    public static final String DIRECT_USED = "direct.used";
    public static final String NATIVE_OTHER = "native.other";

    // leaks and sites ({@link Metrics})
    public static final String LEAKS = "leaks";
    public static final String LEAK_BYTES = "leak.bytes";
    public static final String TOP_LIVE = "top.live";
    public static final String TOP_ALLOCATED = "top.allocated";
    public static final String SITES_SAMPLE_BYTES = "sites.sample.bytes";
    public static final String LIVE_SITES = "live.sites";
    public static final String LEAK_SITES = "leak.sites";
    public static final String SITES_ERROR = "sites.error";

    // distributions ({@link Metrics}): NAME.p50, NAME.p99, NAME.max
    public static final String ALLOC_SIZE = "alloc.size";
    public static final String P50 = ".p50";
    public static final String P99 = ".p99";
    public static final String MAX = ".max";

    /** A labelled {@code report} ({@link Governor#checkpoint}): its label. */
    public static final String LABEL = "label";
}
