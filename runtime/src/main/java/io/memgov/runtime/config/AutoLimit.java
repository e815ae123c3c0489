package io.memgov.runtime.config;

import io.memgov.runtime.ContainerMemory;

import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code memgov.host.limit=auto} (or {@code auto-N%}, N% of it): the memory this process may really use
 * (its container's limit, cgroup v2 then v1, else the physical RAM), less the heap's maximum, less the
 * direct-memory maximum, less a margin for the JVM's own native use (metaspace, code cache, thread stacks,
 * GC structures, the frameworks' native libraries): {@code max(256 MiB, 10% of the heap's maximum)}.
 * Computed once, when the value is read; every input is kept for the {@code start} event.
 */
public final class AutoLimit {
    static final String FORM = "is not an auto size: use auto, or auto-N% for N% of it, e.g. auto-80%";
    static final long MARGIN_FLOOR = 256L << 20;
    static final String MARGIN_RULE = "max(256 MiB, 10% of the heap max)";
    private static final Pattern SYNTAX = Pattern.compile("auto(?:-([0-9]+(?:\\.[0-9]+)?)%)?");

    /** The facts the computation reads; {@link #ofThisJvm()} reads them from this JVM and its container. */
    public static final class Inputs {
        final long containerLimit;
        final String containerSource;
        final long physicalRam;
        final long heapMax;
        final long directMax;
        final String directSource;

        /**
         * @param containerLimit the container's memory limit in bytes, -1 for none
         * @param containerSource where it was read (e.g. {@code cgroup v2 /sys/fs/cgroup/memory.max})
         * @param physicalRam the physical RAM in bytes, 0 or less when unknown
         * @param heapMax the heap's maximum in bytes
         * @param directMax the direct-memory maximum in bytes
         * @param directSource how the direct maximum was found (e.g. {@code -XX:MaxDirectMemorySize})
         */
        public Inputs(long containerLimit, String containerSource, long physicalRam, long heapMax, long directMax,
                      String directSource) {
            this.containerLimit = containerLimit;
            this.containerSource = containerSource;
            this.physicalRam = physicalRam;
            this.heapMax = heapMax;
            this.directMax = directMax;
            this.directSource = directSource;
        }

        /** This JVM: its container (cgroup files), physical RAM, MaxHeapSize and MaxDirectMemorySize. */
        public static Inputs ofThisJvm() {
            ContainerMemory c = ContainerMemory.detect();
            long ram = 0;
            try {
                java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
                if (os instanceof com.sun.management.OperatingSystemMXBean) {
                    ram = Math.max(0, ((com.sun.management.OperatingSystemMXBean) os).getTotalPhysicalMemorySize());
                }
            } catch (RuntimeException | LinkageError e) {
                ram = 0;
            }
            long heap = vmOption("MaxHeapSize");
            if (heap <= 0) {
                heap = Runtime.getRuntime().maxMemory();
            }
            long direct = vmOption("MaxDirectMemorySize");
            String directSource = "-XX:MaxDirectMemorySize";
            if (direct <= 0) {
                // the JDK's default: as much direct memory as the heap may have
                direct = Runtime.getRuntime().maxMemory();
                directSource = "the JDK default (the heap max; -XX:MaxDirectMemorySize not set)";
            }
            return new Inputs(c.limit(), c.source(), ram, heap, direct, directSource);
        }

        private static long vmOption(String name) {
            try {
                com.sun.management.HotSpotDiagnosticMXBean hs =
                        ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
                return hs == null ? -1 : Long.parseLong(hs.getVMOption(name).getValue());
            } catch (RuntimeException | LinkageError e) {
                return -1;
            }
        }
    }

    private final String raw;
    private final double percent;
    private final Inputs in;
    private final long total;
    private final String totalSource;
    private final long margin;
    private final long available;
    private final long limit;

    private AutoLimit(String raw, double percent, Inputs in) {
        this.raw = raw;
        this.percent = percent;
        this.in = in;
        boolean container = in.containerLimit >= 0 && (in.physicalRam <= 0 || in.containerLimit < in.physicalRam);
        this.total = container ? in.containerLimit : in.physicalRam;
        this.totalSource = container ? "container" : "physical-ram";
        this.margin = Math.max(MARGIN_FLOOR, in.heapMax / 10);
        this.available = total - in.heapMax - in.directMax - margin;
        this.limit = available <= 0 ? 0 : BigDecimal.valueOf(available).multiply(BigDecimal.valueOf(percent))
                .divide(BigDecimal.valueOf(100), 0, RoundingMode.DOWN).longValue();
    }

    /** Whether {@code raw} is meant as an auto size (it starts with {@code auto}). */
    static boolean isAuto(String raw) {
        return raw != null && raw.trim().toLowerCase(Locale.ROOT).startsWith("auto");
    }

    /**
     * Parses and computes {@code auto} / {@code auto-N%}. Throws IllegalArgumentException with the
     * expected-form text, or, when the inputs leave nothing, the computation and the fixes.
     */
    static AutoLimit parse(String raw, Supplier<Inputs> inputs) {
        String t = raw.trim().toLowerCase(Locale.ROOT);
        Matcher m = SYNTAX.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException(FORM);
        }
        double percent = 100;
        if (m.group(1) != null) {
            percent = Double.parseDouble(m.group(1));
            if (percent <= 0 || percent > 100) {
                throw new IllegalArgumentException("is not an auto size: the percentage must be above 0% and at most"
                        + " 100%, e.g. auto-80%");
            }
        }
        Inputs in = inputs.get();
        if (in.physicalRam <= 0 && in.containerLimit < 0) {
            throw new IllegalArgumentException("cannot be computed: neither a container memory limit nor the physical"
                    + " RAM size could be read; set an absolute size, e.g. memgov.host.limit=2g");
        }
        AutoLimit a = new AutoLimit(t, percent, in);
        if (a.limit <= 0) {
            throw new IllegalArgumentException("leaves nothing for tensors: " + a.computation()
                    + ". Give the process more memory (a larger container; on Spark spark.executor.memoryOverhead),"
                    + " lower -Xmx, set -XX:MaxDirectMemorySize lower, or set an absolute size, e.g. memgov.host.limit=512m");
        }
        return a;
    }

    /** The computation in words, e.g. {@code container limit 2 GiB (cgroup v2 ...) - heap max 512 MiB - ...}. */
    public String computation() {
        StringBuilder b = new StringBuilder();
        b.append(totalSource.equals("container") ? "container limit " : "physical RAM ")
                .append(Values.formatBytes(total)).append(" (").append(total)
                .append(totalSource.equals("container") ? ", " + in.containerSource : "").append(")")
                .append(" - heap max ").append(Values.formatBytes(in.heapMax))
                .append(" - direct memory max ").append(Values.formatBytes(in.directMax)).append(" (").append(in.directSource).append(")")
                .append(" - margin ").append(Values.formatBytes(margin)).append(" (JVM native use: ").append(MARGIN_RULE).append(")")
                .append(" = ").append(available < 0 ? "-" + Values.formatBytes(-available) : Values.formatBytes(available));
        if (percent != 100) {
            b.append(", ").append(fmtPercent()).append("% of it = ").append(Values.formatBytes(limit));
        }
        return b.toString();
    }

    private String fmtPercent() {
        return BigDecimal.valueOf(percent).stripTrailingZeros().toPlainString();
    }

    /** The limit in bytes (above 0). */
    public long limit() {
        return limit;
    }

    /** The fields the {@code start} event logs for the computation, sizes in bytes. */
    public Map<String, Object> fields() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("host.limit.auto", raw);
        f.put("host.limit.total", total);
        f.put("host.limit.total.from", totalSource);
        f.put("host.limit.physical.ram", in.physicalRam);
        f.put("host.limit.heap.max", in.heapMax);
        f.put("host.limit.direct.max", in.directMax);
        f.put("host.limit.margin", margin);
        f.put("host.limit.available", available);
        f.put("host.limit.percent", fmtPercent());
        return f;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AutoLimit && ((AutoLimit) o).limit == limit && ((AutoLimit) o).raw.equals(raw);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(limit);
    }

    @Override
    public String toString() {
        return raw + " = " + limit + " (" + computation() + ")";
    }
}
