package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.memgov.runtime.config.SiteMode;
import io.memgov.testsite.Allocator;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongFunction;

import org.junit.jupiter.api.Test;

/**
 * Sites by bytes (see {@link Metrics}): sites with known byte totals, mixtures of small and large
 * allocations, deterministic seeds; the estimates must lie within 4 standard errors of the truth, the
 * standard error worked out from the sampling probabilities (an allocation of s bytes, sampled with
 * p = 1 - exp(-s/N) and counted as s/p, adds s²(1-p)/p to the variance), and no list has an
 * {@code unsampled} entry.
 */
class SiteSamplingTest {
    private static final String A = "io.memgov.testsite.Allocator.siteA(Allocator.java:20)";
    private static final String B = "io.memgov.testsite.Allocator.siteB(Allocator.java:24)";
    private static final String C = "io.memgov.testsite.Allocator.siteC(Allocator.java:28)";
    private static final long N = 512 << 10;
    private static final long K = 1024;
    private static final long M = 1024 * 1024;

    /** The allocations of one run: site (0..2) and size, in a seeded random order. */
    private static List<long[]> workload(long seed) {
        List<long[]> jobs = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            jobs.add(new long[]{0, 4 * K}); // A: 80 MiB of 4 KiB tensors, all far under N
        }
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < 40_000; i++) {
            jobs.add(new long[]{1, K}); // B: 39 MiB of 1 KiB tensors, ...
        }
        for (int i = 0; i < 40; i++) {
            jobs.add(new long[]{1, 8 * M}); // ... 320 MiB of 8 MiB ones (p = 1 - e^-16) ...
        }
        for (int i = 0; i < 200; i++) {
            jobs.add(new long[]{1, 256 * K + r.nextLong(2 * M - 256 * K)}); // ... and about 225 MiB around N
        }
        for (int i = 0; i < 2_000; i++) {
            jobs.add(new long[]{2, 64 + r.nextInt(64)}); // C: 190 KiB of tiny tensors (estimate mostly 0)
        }
        for (int i = jobs.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            long[] t = jobs.get(i);
            jobs.set(i, jobs.get(j));
            jobs.set(j, t);
        }
        return jobs;
    }

    /** One run's truth and variance per site: allocated bytes, live bytes, live count. */
    private static final class Truth {
        final double[] allocated = new double[3];
        final double[] allocatedVar = new double[3];
        final double[] live = new double[3];
        final double[] liveVar = new double[3];
        final double[] liveCount = new double[3];
        final double[] liveCountVar = new double[3];
    }

    private static Object at(int site, LongFunction<Object> alloc, long bytes) {
        switch (site) {
            case 0:
                return Allocator.siteA(alloc, bytes);
            case 1:
                return Allocator.siteB(alloc, bytes);
            default:
                return Allocator.siteC(alloc, bytes);
        }
    }

    /**
     * Runs {@link #workload} against {@code m} (as the governor does: wants, sample, commit, and into the
     * ledger when it has a site); every other allocation is released again. Returns the site fields.
     */
    private static Map<String, Object> run(Metrics m, long seed, Truth truth, double mean, long switchAt, double mean2) {
        Ledger ledger = new Ledger();
        long[] ids = {0};
        LongFunction<Object> alloc = bytes -> {
            Tracked t = new Tracked(++ids[0], bytes, 0, 0, 0);
            if (m.wants(t)) {
                m.sample(t, 0);
            }
            if (t.site != Sites.UNSAMPLED) {
                m.committed(t);
                ledger.add(t);
            }
            return t;
        };
        SplittableRandom keep = new SplittableRandom(seed * 31 + 1);
        long total = 0;
        int i = 0;
        for (long[] job : workload(seed)) {
            if (i++ == switchAt) {
                m.sampleBytes(mean2);
                mean = Math.max(mean, mean2); // for the bound: the larger of the two (a bound, not the exact variance)
            }
            int site = (int) job[0];
            long s = job[1];
            Tracked t = (Tracked) at(site, alloc, s);
            total += s;
            double p = -Math.expm1(-s / mean);
            double var = (double) s * s * (1 - p) / p;
            if (truth != null) {
                truth.allocated[site] += s;
                truth.allocatedVar[site] += var;
            }
            if (keep.nextBoolean()) {
                if (truth != null) {
                    truth.live[site] += s;
                    truth.liveVar[site] += var;
                    truth.liveCount[site]++;
                    truth.liveCountVar[site] += (1 - p) / p;
                }
            } else if (t.site != Sites.UNSAMPLED) {
                ledger.remove(t);
            }
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        m.putSites(fields, ledger, total, true);
        return fields;
    }

    /** {@code site:bytes;...} (or {@code site:tensors:bytes;...} with {@code field} 2) as a map to the field. */
    private static Map<String, Long> parse(Object list, int field) {
        Map<String, Long> v = new HashMap<>();
        String s = (String) list;
        if (s.isEmpty()) {
            return v;
        }
        for (String e : s.split(";")) {
            String[] parts = e.split(":");
            // the site has one ':' itself (File.java:line)
            v.put(parts[0] + ":" + parts[1], Long.parseLong(parts[parts.length - field]));
        }
        return v;
    }

    /**
     * |estimate - truth| within 4 standard errors, plus {@code slack}: a site with few expected samples
     * (C: 0.2) has a Poisson count, not a normal one, and 2 samples of weight N each are no surprise.
     */
    private static void within(String what, double estimate, double truth, double var, double slack) {
        double se = Math.sqrt(var);
        assertTrue(Math.abs(estimate - truth) <= 4 * se + slack + 1,
                what + ": estimate " + (long) estimate + ", truth " + (long) truth + ", 4 SE " + (long) (4 * se));
    }

    @Test
    void perSiteEstimatesOfAllocatedAndLiveBytesAreWithinFourStandardErrorsAndNothingIsUnsampled() {
        for (long seed = 1; seed <= 3; seed++) {
            Metrics m = new Metrics(SiteMode.SAMPLE, N, 0, seed);
            Truth truth = new Truth();
            Map<String, Object> f = run(m, seed, truth, N, -1, N);
            for (Object v : f.values()) {
                assertFalse(String.valueOf(v).contains("unsampled"), f.toString());
            }
            Map<String, Long> allocated = parse(f.get("top.allocated"), 1);
            Map<String, Long> live = parse(f.get("top.live"), 1);
            Map<String, Long> liveSites = parse(f.get("live.sites"), 1);
            Map<String, Long> liveTensors = parse(f.get("live.sites"), 2);
            assertEquals(live, liveSites, "live.sites and top.live give the same bytes");
            String[] names = {A, B, C};
            for (int s = 0; s < 3; s++) {
                String site = names[s];
                within("seed " + seed + " allocated at " + site, allocated.getOrDefault(site, 0L), truth.allocated[s], truth.allocatedVar[s], 2 * N);
                within("seed " + seed + " live at " + site, live.getOrDefault(site, 0L), truth.live[s], truth.liveVar[s], 2 * N);
                within("seed " + seed + " live tensors at " + site, liveTensors.getOrDefault(site, 0L), truth.liveCount[s],
                        truth.liveCountVar[s], 2 * N / 64.0);
            }
            // the sites with many bytes are close: A (80 MiB of 4 KiB) to about 4 × sqrt(N/B) = 32%, B to a few %
            assertTrue(allocated.get(B) > allocated.get(A) && allocated.get(A) > allocated.getOrDefault(C, 0L), f.toString());
            assertEquals(N, m.sampleBytes(), "without a walk budget N stays as configured");
        }
    }

    /**
     * Many seeds: the estimates' mean is the truth (unbiased) and their spread is the predicted standard
     * error, sqrt(N/B) of B for small allocations; also while N moves in the middle of a run.
     */
    @Test
    void estimatesAreUnbiasedAndTheirSpreadIsAboutTheSquareRootOfNOverB() {
        int runs = Integer.getInteger("runs", 100);
        double[] sum = new double[3];
        double[] sumSq = new double[3];
        Truth truth = null;
        for (int r = 0; r < runs; r++) {
            Metrics m = new Metrics(SiteMode.SAMPLE, N, 0, 1000 + r);
            Truth t = new Truth();
            Map<String, Long> allocated = parse(run(m, 5, t, N, -1, N).get("top.allocated"), 1); // same workload, other draws
            truth = t;
            String[] names = {A, B, C};
            for (int s = 0; s < 3; s++) {
                double e = allocated.getOrDefault(names[s], 0L);
                sum[s] += e;
                sumSq[s] += e * e;
            }
        }
        for (int s = 0; s < 2; s++) {
            double mean = sum[s] / runs;
            double sd = Math.sqrt(Math.max(0, sumSq[s] / runs - mean * mean));
            double predicted = Math.sqrt(truth.allocatedVar[s]);
            System.out.printf("site %d: B=%.0f MiB, mean estimate / B = %.4f, relative SE measured %.4f, predicted %.4f%s%n",
                    s, truth.allocated[s] / M, mean / truth.allocated[s], sd / truth.allocated[s], predicted / truth.allocated[s],
                    s == 0 ? String.format(", sqrt(N/B) %.4f", Math.sqrt(N / truth.allocated[s])) : "");
            within("mean of " + runs + " estimates, site " + s, mean, truth.allocated[s], truth.allocatedVar[s] / runs, 0);
            // the spread of 100 draws is known to about ±7% (1/sqrt(2·100)): 4 of those
            assertTrue(Math.abs(sd / predicted - 1) < 0.29, "site " + s + ": measured SE " + sd + ", predicted " + predicted);
        }
        // N moves from 512 KiB to 4 MiB half-way: weights follow the mean each gap was drawn with
        double sumA = 0;
        double sumB = 0;
        for (int r = 0; r < runs; r++) {
            Metrics m = new Metrics(SiteMode.SAMPLE, N, 0, 5000 + r);
            Truth t = new Truth();
            Map<String, Long> allocated = parse(run(m, 5, t, N, 31_000, 8 * N).get("top.allocated"), 1);
            truth = t;
            sumA += allocated.getOrDefault(A, 0L);
            sumB += allocated.getOrDefault(B, 0L);
        }
        within("mean of " + runs + " estimates at A while N moves", sumA / runs, truth.allocated[0], truth.allocatedVar[0] / runs, 0);
        within("mean of " + runs + " estimates at B while N moves", sumB / runs, truth.allocated[1], truth.allocatedVar[1] / runs, 0);
    }

    /** Threads count down their own bytes (a slot by thread id, else a thread-local): the estimate holds across threads. */
    @Test
    void threadsAllocatingAtOnceAreEstimatedTogether() throws Exception {
        Metrics m = new Metrics(SiteMode.SAMPLE, N, 0, 11);
        Ledger ledger = new Ledger();
        int threads = 70; // more than Metrics.THREAD_SLOTS: some share a slot and use the thread-local
        int each = 2_000;
        long s = 16 * K;
        LongFunction<Object> alloc = bytes -> {
            Tracked t = new Tracked(1, bytes, 0, 0, 0);
            if (m.wants(t)) {
                m.sample(t, 0);
            }
            if (t.site != Sites.UNSAMPLED) {
                m.committed(t);
            }
            return t;
        };
        List<Thread> started = new ArrayList<>();
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        for (int i = 0; i < threads; i++) {
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int j = 0; j < each; j++) {
                    Allocator.siteA(alloc, s);
                }
            });
            th.start();
            started.add(th);
        }
        go.countDown();
        for (Thread th : started) {
            th.join();
        }
        Map<String, Object> f = new LinkedHashMap<>();
        m.putSites(f, ledger, 0, false);
        long estimate = parse(f.get("top.allocated"), 1).getOrDefault(A, 0L);
        double truth = (double) threads * each * s;
        double p = -Math.expm1(-s / (double) N);
        within("70 threads at A", estimate, truth, threads * each * (double) s * s * (1 - p) / p, 0);
    }

    @Test
    void everyAllocationOfSixteenMiBOrMoreIsSampledAndStandsForItself() {
        Metrics m = new Metrics(SiteMode.SAMPLE, 1L << 40, 0, 1); // N far above every size
        for (int i = 0; i < 10; i++) {
            Tracked t = new Tracked(i + 1, Metrics.LARGE, 0, 0, 0);
            assertTrue(m.wants(t));
            m.sample(t, 0);
            assertTrue(t.site != Sites.UNSAMPLED);
            assertEquals(1f, t.sampleScale);
        }
    }

    /** N adapts to keep walks near 1/WALK_BUDGET of the time, never under the configured N, at most ×4 a window. */
    @Test
    void theMeanGapGrowsWhenWalksWouldTakeMoreThanTheirBudgetAndComesBack() {
        Metrics m = new Metrics(SiteMode.SAMPLE, N, Metrics.WALK_BUDGET, 1);
        double rate = 4.0; // bytes per ns: 4 GB/s of small tensors
        long walk = 20_000; // 20 µs a walk
        long now = 1_000_000_000L;
        m.adapt(now, 10_000_000, N); // the first walk, 10 ms, is left out
        long prev = m.sampleBytes();
        for (int i = 0; i < 60; i++) {
            long bytes = m.sampleBytes();
            now += (long) (bytes / rate);
            m.adapt(now, walk, bytes);
            assertTrue(m.sampleBytes() <= 4 * prev && m.sampleBytes() >= prev / 4, "at most ×4 a window");
            prev = m.sampleBytes();
        }
        // the walks take 1/2000 of the time when N = rate × walk × 2000 = 160 MB
        double target = rate * walk * Metrics.WALK_BUDGET;
        assertEquals(target, m.sampleBytes(), target * 0.01, "N at the rate × walk × budget");
        for (int i = 0; i < 60; i++) { // the workload calms down: a sample a second
            now += 1_000_000_000L;
            m.adapt(now, walk, m.sampleBytes());
        }
        assertEquals(N, m.sampleBytes(), "back to the configured N, not under it");
    }
}
