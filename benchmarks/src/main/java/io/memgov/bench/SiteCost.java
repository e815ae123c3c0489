package io.memgov.bench;

import ai.djl.memgovbench.Frames;
import io.memgov.runtime.Governor;
import io.memgov.runtime.MemoryGovernor;
import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.log.EventLog;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * What {@code memgov.sites} adds per allocation, in one JVM: two governors, {@code sites=off} and
 * {@code sites=sample} (or {@code all}), take turns in short rounds of allocate + release through six
 * framework-like frames, and the median of the paired differences is the cost in ns per allocation.
 * Interleaving in one process keeps machine load out of the difference better than whole-workload runs.
 *
 * <p>Usage, from the repository root: {@code java -cp benchmarks/target/memgov-benchmarks.jar:runtime/target/memgov-runtime-0.1.0-SNAPSHOT.jar
 * io.memgov.bench.SiteCost [sample|all]}
 */
public final class SiteCost {
    private SiteCost() {
    }

    private static MemoryGovernor governor(String mode) {
        ConfigLoader.Result r = new ConfigLoader("sites=" + mode, new Properties(), Map.of(), null, 0, 1,
                System.getProperty("java.io.tmpdir")).load();
        return new MemoryGovernor(r.config(), new EventLog(line -> { }, LogFormat.TEXT, LogLevel.INFO));
    }

    private static double round(MemoryGovernor g, int n) {
        Governor.install(g);
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Governor.release(Frames.allocate(5, 4000));
        }
        return (System.nanoTime() - t0) / (double) n;
    }

    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "sample";
        MemoryGovernor off = governor("off");
        MemoryGovernor on = governor(mode);
        int n = 200_000;
        for (int i = 0; i < 10; i++) {
            round(off, n);
            round(on, n);
        }
        List<Double> offs = new ArrayList<>();
        List<Double> ons = new ArrayList<>();
        List<Double> diffs = new ArrayList<>();
        for (int i = 0; i < 41; i++) {
            double x = round(off, n);
            double y = round(on, n);
            offs.add(x);
            ons.add(y);
            diffs.add(y - x);
        }
        Collections.sort(offs);
        Collections.sort(ons);
        Collections.sort(diffs);
        System.out.println(String.format(Locale.ROOT,
                "sites=off %.1f ns/allocation, sites=%s %.1f ns/allocation (medians); sites=%s adds %.1f ns per allocation (median paired difference)",
                offs.get(20), mode, ons.get(20), mode, diffs.get(20)));
    }
}
