package io.memgov.runtime;

import io.memgov.runtime.pool.BufferPool;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Writes a governor's figures, the fields of {@code report} and {@code summary} (less the site
 * lists), under the names of {@link Fields}: the CONTRACT's fields first and in its order, then the
 * extras. The order is the log's: the integration tests and the report reader read it as it is.
 */
final class Figures {
    private Figures() {
    }

    static Map<String, Object> of(MemoryGovernor g) {
        long devUsed = 0;
        long devPeak = 0;
        Map<String, Object> perDevice = new LinkedHashMap<>();
        AtomicReferenceArray<Budget> devices = g.devices();
        for (int i = 0; i < devices.length(); i++) {
            Budget b = devices.get(i);
            if (b != null) {
                devUsed += b.used();
                devPeak = Math.max(devPeak, b.peak());
                perDevice.put(Fields.DEVICE_PREFIX + i + Fields.USED, b.used());
                perDevice.put(Fields.DEVICE_PREFIX + i + Fields.PEAK, b.peak());
            }
        }
        Budget host = g.host();
        Budget disk = g.disk();
        Stats stats = g.stats();
        Counts counts = g.counts();
        BufferPool pool = g.pool();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(Fields.HOST_USED, host.used());
        m.put(Fields.HOST_PEAK, host.peak());
        m.put(Fields.HOST_LIMIT, host.limit());
        m.put(Fields.DEVICE_USED, devUsed);
        m.put(Fields.DEVICE_PEAK, devPeak);
        m.put(Fields.DEVICE_LIMIT, g.config().deviceLimit());
        m.put(Fields.DISK_USED, disk.used());
        m.put(Fields.DISK_PEAK, disk.peak());
        m.put(Fields.DISK_LIMIT, disk.limit());
        long releases = counts.releases(); // first: a release is never counted before its allocation
        long allocations = counts.allocations();
        m.put(Fields.ALLOCATIONS, allocations);
        m.put(Fields.RELEASES, releases);
        m.put(Fields.SPILLS, stats.spills());
        m.put(Fields.RESTORES, stats.restores());
        m.put(Fields.SPILL_BYTES, stats.spillBytes());
        m.put(Fields.RESTORE_BYTES, stats.restoreBytes());
        m.put(Fields.POOL_HITS, pool == null ? 0L : pool.hits());
        m.put(Fields.POOL_MISSES, pool == null ? 0L : pool.misses());
        m.put(Fields.FAILURES, stats.failures());
        m.put(Fields.LIMIT_HITS, stats.limitHits());
        m.put(Fields.SPILL_MICROS, stats.spillMicros());
        m.put(Fields.RESTORE_MICROS, stats.restoreMicros());
        m.put(Fields.DISK_FAILURES, stats.diskFailures());
        m.put(Fields.OFFLOADS, stats.offloads());
        m.put(Fields.OFFLOAD_BYTES, stats.offloadBytes());
        m.put(Fields.SPILLS_CLEAN, stats.cleanSpills());
        m.put(Fields.SPILL_CLEAN_BYTES, stats.cleanSpillBytes());
        m.put(Fields.SPILL_CLEAN_MICROS, stats.cleanSpillMicros());
        m.put(Fields.LIVE, MemoryGovernor.live(allocations, releases));
        m.put(Fields.POOL_BYTES, pool == null ? 0L : pool.idleBytes());
        m.put(Fields.GC_REQUESTS, stats.gcRequests());
        Prefetcher pf = g.prefetcher();
        m.put(Fields.PREFETCHES, pf == null ? 0L : pf.prefetches.get());
        m.put(Fields.PREFETCH_HITS, pf == null ? 0L : pf.hits.get());
        m.put(Fields.PREFETCH_WASTED, pf == null ? 0L : pf.wasted.get());
        m.put(Fields.PREFETCH_BYTES, pf == null ? 0L : pf.prefetchBytes.get());
        m.put(Fields.RESTORES_WAITED, pf == null ? 0L : pf.waited.get());
        m.put(Fields.PREFETCH_PAUSES, pf == null ? 0L : pf.pauses.get());
        NativeHeap heap = g.background().nativeHeap();
        m.put(Fields.NATIVE_TRIMS, heap == null ? 0L : heap.trims.get());
        m.put(Fields.NATIVE_TRIM_BYTES, heap == null ? 0L : heap.trimmedBytes.get());
        m.put(Fields.NATIVE_TRIM_MICROS, heap == null ? 0L : heap.trimMicros.get());
        m.put(Fields.POOL_DROPPED, pool == null ? 0L : pool.dropped());
        for (int i = 0; i < Governor.FRAMEWORKS.length; i++) {
            m.put(Fields.HOST_USED_PREFIX + Governor.FRAMEWORKS[i], g.host(i).used());
            m.put(Fields.HOST_PEAK_PREFIX + Governor.FRAMEWORKS[i], g.host(i).peak());
        }
        m.put(Fields.ALLOCATED_BYTES, counts.allocatedBytes());
        m.putAll(perDevice);
        ProcessMemory.put(m, host.used());
        m.put(Fields.UPTIME_MS, System.currentTimeMillis() - g.startMillis());
        g.metrics().putFigures(m);
        return m;
    }
}
