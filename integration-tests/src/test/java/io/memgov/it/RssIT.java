package io.memgov.it;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The limit holds for the process: under {@code host.limit=L}, a working set of 4x and 16x L (arrays
 * of 4 MiB made, then summed once each: {@code SpillBenchWorkload}) raises peak RSS (VmHWM) over the
 * process's floor (VmHWM after the engine loaded, before the big arrays) by at most L + 16 MiB, with
 * the same result as without the agent. The Java heap is fixed and pre-touched
 * ({@code -XX:+AlwaysPreTouch -Xms256m -Xmx256m}) so that the floor holds it: what grows is native
 * memory, which is what memgov bounds (the heap is -Xmx's to bound).
 */
class RssIT {
    static final List<String> HEAP = List.of("-XX:+AlwaysPreTouch", "-Xms256m", "-Xmx256m");

    static long kb(Forked run, String key) {
        Matcher m = Pattern.compile(Pattern.quote(key) + "=(-?\\d+)").matcher(run.stdout);
        assertTrue(m.find(), key + " missing: " + run);
        return Long.parseLong(m.group(1));
    }

    static String acc(Forked run) {
        Matcher m = Pattern.compile("acc=([0-9a-f]+)").matcher(run.stdout);
        assertTrue(m.find(), run.toString());
        return m.group(1);
    }

    @ParameterizedTest(name = "{0}: {1} arrays of 4 MiB under host.limit=16m")
    @CsvSource({"djl, 16", "djl, 64", "nd4j, 16", "nd4j, 64"})
    void peakRssGrowsByAtMostTheLimitAndSixteenMiB(String framework, String arrays) throws Exception {
        String[] args = {arrays, "4", "1", framework};
        Forked plain = Forked.run(null, HEAP, Forked.examplesClassPath(), "io.memgov.examples.SpillBenchWorkload", args);
        assertEquals(0, plain.exitCode, plain.toString());
        long limit = 16L << 20;
        Path log = Forked.newLog("rss-" + framework + "-" + arrays);
        Forked governed = Forked.run("log.file=" + log + ",host.limit=16m", HEAP, Forked.examplesClassPath(),
                "io.memgov.examples.SpillBenchWorkload", args);
        assertEquals(0, governed.exitCode, governed.toString());
        assertEquals(acc(plain), acc(governed), "the same result as without the agent");
        long growth = (kb(governed, "peak.rss.kb") - kb(governed, "baseline.rss.kb")) << 10;
        long plainGrowth = (kb(plain, "peak.rss.kb") - kb(plain, "baseline.rss.kb")) << 10;
        assertTrue(growth <= limit + (16L << 20), "peak RSS grew by " + (growth >> 20) + " MiB over the floor (without"
                + " the agent: " + (plainGrowth >> 20) + " MiB), more than the limit and 16 MiB");
        Map<String, String> summary = MemgovLog.read(log).one("summary");
        assertTrue(num(summary, "host.peak") <= limit, summary.toString());
        assertTrue(num(summary, "spills") > 0, summary.toString());
        assertTrue(num(summary, "native.trims") > 0, "the C heap was trimmed after spills: " + summary);
    }

    /**
     * The summary's process fields explain where RSS is: 256 MiB malloced through JavaCPP (the C heap,
     * no ND4J array, no direct buffer) and held at exit shows in {@code native.other} and {@code rss},
     * not in governed HOST memory or {@code direct.used}, against the same program mallocing nothing.
     */
    @org.junit.jupiter.api.Test
    void nativeOtherShowsMemoryMallocedOutsideBothFrameworks() throws Exception {
        Map<String, String> none = nativeOtherRun(0);
        Map<String, String> held = nativeOtherRun(256);
        long mib = 1L << 20;
        long grew = num(held, "native.other") - num(none, "native.other");
        assertTrue(grew >= 240 * mib && grew <= 300 * mib, "native.other grew by " + (grew >> 20) + " MiB for 256 MiB"
                + " malloced: " + none + " vs " + held);
        assertTrue(num(held, "rss") - num(none, "rss") >= 240 * mib, none + " vs " + held);
        assertTrue(num(held, "rss.peak") >= num(held, "rss"), held.toString());
        assertTrue(Math.abs(num(held, "direct.used") - num(none, "direct.used")) < 16 * mib, none + " vs " + held);
        assertTrue(Math.abs(num(held, "host.used") - num(none, "host.used")) < 16 * mib, none + " vs " + held);
        for (String k : List.of("heap.used", "heap.committed", "nonheap.committed")) {
            assertTrue(num(held, k) > 0, k + " in " + held);
        }
    }

    private static Map<String, String> nativeOtherRun(int mib) throws Exception {
        Path log = Forked.newLog("native-other-" + mib);
        Forked run = Forked.run("log.file=" + log, HEAP, Forked.examplesClassPath(), "io.memgov.examples.NativeOther",
                String.valueOf(mib));
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("malloc.mib=" + mib + " held=" + (mib > 0)), run.toString());
        return MemgovLog.read(log).one("summary");
    }
}
