package io.memgov.runtime.jmx;

import io.memgov.runtime.MemoryGovernor;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.config.Source;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/** The {@link GovernorMXBean} over one governor. */
public final class GovernorJmx implements GovernorMXBean {
    public static final String NAME = "io.memgov:type=Governor";

    private final MemoryGovernor g;

    public GovernorJmx(MemoryGovernor g) {
        this.g = g;
    }

    /** Registers the MBean of {@code g} in the platform MBean server (replacing a stale one). */
    public static void register(MemoryGovernor g) throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName(NAME);
        if (server.isRegistered(name)) {
            server.unregisterMBean(name);
        }
        server.registerMBean(new GovernorJmx(g), name);
    }

    private long figure(String key) {
        Object v = g.figures().get(key);
        return v instanceof Long ? (Long) v : 0L;
    }

    @Override public long getHostUsed() { return g.host().used(); }
    @Override public long getHostPeak() { return g.host().peak(); }
    @Override public long getHostLimit() { return g.host().limit(); }
    @Override public long getDeviceUsed() { return deviceFigures().get("device.used"); }
    @Override public long getDevicePeak() { return deviceFigures().get("device.peak"); }
    @Override public long getDeviceLimit() { return g.config().deviceLimit(); }
    @Override public long getDiskUsed() { return g.disk().used(); }
    @Override public long getDiskPeak() { return g.disk().peak(); }
    @Override public long getDiskLimit() { return g.disk().limit(); }
    @Override public long getSpills() { return g.spills(); }
    @Override public long getRestores() { return g.restores(); }
    @Override public long getSpillBytes() { return g.spillBytes(); }
    @Override public long getRestoreBytes() { return g.restoreBytes(); }
    @Override public long getPoolHits() { return figure("pool.hits"); }
    @Override public long getPoolMisses() { return figure("pool.misses"); }
    @Override public long getLiveTensors() { return g.live(); }
    @Override public long getAllocations() { return g.allocations(); }
    @Override public long getReleases() { return g.releases(); }
    @Override public long getFailures() { return g.failures(); }
    @Override public long getLeaks() { return g.metrics().leaks(); }
    @Override public String getOnLimit() { return g.config().onLimit().configName(); }

    private Map<String, Long> deviceFigures() {
        long used = 0;
        long peak = 0;
        for (int i = 0; i < 64; i++) {
            if (g.hasDevice(i)) {
                used += g.device(i).used();
                peak = Math.max(peak, g.device(i).peak());
            }
        }
        return Map.of("device.used", used, "device.peak", peak);
    }

    @Override
    public void setLimit(String tier, String size) {
        String t = tier == null ? "" : tier.trim().toLowerCase(Locale.ROOT);
        if (!t.equals("host") && !t.equals("device") && !t.equals("disk")) {
            throw new IllegalArgumentException("memgov: tier " + tier + " is not one of host, device, disk");
        }
        String key = "memgov." + t + ".limit";
        synchronized (g) {
            MemgovConfig next = g.config().with(key, size, Source.JMX, Source.JMX.label());
            g.change(key, next, Source.JMX.label());
        }
    }

    @Override
    public void resetPeaks() {
        g.resetPeaks();
    }
}
