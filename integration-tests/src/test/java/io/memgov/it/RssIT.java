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
        Map<String, String> summary = MemgovLog.read(log).one("summary");
        assertTrue(growth <= limit + (16L << 20), framework + ": peak RSS grew by " + (growth >> 20) + " MiB over the"
                + " floor (without the agent: " + (plainGrowth >> 20) + " MiB), more than the limit and 16 MiB; summary: "
                + summary);
        assertTrue(num(summary, "host.peak") <= limit, summary.toString());
        assertTrue(num(summary, "spills") > 0, summary.toString());
        assertTrue(num(summary, "native.trims") > 0, "the C heap was trimmed after spills: " + summary);
    }

    /**
     * Trimming never creates the platform MBean server (about 100 ms of CPU and the JMX classes, in
     * the middle of the application's run): the JVM's diagnostic command is called directly. The
     * classes the JVM loads are listed by {@code -Xlog:class+load}.
     */
    @org.junit.jupiter.api.Test
    void trimmingDoesNotCreateThePlatformMBeanServer() throws Exception {
        Path log = Forked.newLog("trim-no-jmx");
        Forked run = Forked.run("log.file=" + log + ",host.limit=16m", List.of("-Xlog:class+load=info"),
                Forked.examplesClassPath(), "io.memgov.examples.SpillBenchWorkload", "32", "4", "1", "djl");
        assertEquals(0, run.exitCode, run.toString());
        Map<String, String> summary = MemgovLog.read(log).one("summary");
        assertTrue(num(summary, "native.trims") > 0, "the C heap was trimmed: " + summary);
        assertTrue(run.stdout.contains("io.memgov.runtime.NativeHeap"), "class loading is logged: " + run.stdout.length());
        assertTrue(!run.stdout.contains("com.sun.jmx.mbeanserver.JmxMBeanServer "), "the platform MBean server was created");
    }

    /**
     * ASM's {@code ClassReader.readCode} in the agent's shaded ByteBuddy is compiled by C1 but never by
     * C2, whose compile of it took a 31 MiB arena: on a loaded machine it came after the engine loaded
     * and broke the bound above (ND4J, 64 arrays: +34-40 MiB in 3 of 25 runs). The JIT's thresholds
     * are scaled down ({@code -XX:CompileThresholdScaling=0.05}) so that the method gets hot enough for
     * C2 in this short run: without the directive C2 compiles it (an OSR compile, in 2 of 2 runs).
     * {@code -XX:+PrintCompilation} lines: "timestamp id flags level method".
     */
    @org.junit.jupiter.api.Test
    void asmsReadCodeIsNeverCompiledByC2() throws Exception {
        Path log = Forked.newLog("jit");
        Forked run = Forked.run("log.file=" + log + ",host.limit=16m",
                List.of("-XX:CompileThresholdScaling=0.05", "-XX:+PrintCompilation"),
                Forked.examplesClassPath(), "io.memgov.examples.SpillBenchWorkload", "16", "4", "1", "djl");
        assertEquals(0, run.exitCode, run.toString());
        Matcher m = Pattern.compile("(?m)^\\s*\\d+\\s+\\d+\\s+[ %sbn!]*([0-4])\\s+"
                + "io\\.memgov\\.shaded\\.net\\.bytebuddy\\.jar\\.asm\\.ClassReader::readCode ").matcher(run.stdout);
        java.util.Set<String> levels = new java.util.TreeSet<>();
        while (m.find()) {
            levels.add(m.group(1));
        }
        assertTrue(!levels.isEmpty(), "the JIT compiled readCode: " + run.stdout.length() + " chars of output");
        assertTrue(!levels.contains("4"), "C2 compiled readCode; its levels: " + levels);
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

    /**
     * A container's limit (a cgroup v1 memory cgroup made for the test, 1 GiB; root only, else the test
     * is skipped): the start event logs it, and RSS driven to 93% of it by mallocs outside both
     * frameworks while governed memory is far under its limit gives one {@code rss-high} warning with the
     * breakdown, and the JVM is not killed.
     */
    @org.junit.jupiter.api.Test
    void rssNearTheContainersLimitWarnsOnce() throws Exception {
        Path parent = Path.of("/sys/fs/cgroup/memory");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isWritable(parent),
                "needs a writable cgroup v1 memory hierarchy (root): " + parent);
        Path cg = parent.resolve("memgov-it-" + ProcessHandle.current().pid());
        long limit = 1L << 30;
        java.nio.file.Files.createDirectories(cg);
        try {
            java.nio.file.Files.writeString(cg.resolve("memory.limit_in_bytes"), String.valueOf(limit));
            Path log = Forked.newLog("rss-high");
            long target = limit * 93 / 100;
            Forked run = Forked.runInCgroup(cg.resolve("cgroup.procs"), "log.file=" + log + ",host.limit=64m", HEAP,
                    Forked.examplesClassPath(), "io.memgov.examples.NativeOther", "rss:" + target, "2500");
            assertEquals(0, run.exitCode, run.toString());
            MemgovLog events = MemgovLog.read(log);
            assertEquals(limit, num(events.one("start"), "container.limit"), events.one("start").toString());
            List<Map<String, String>> warns = events.all("rss-high");
            assertEquals(1, warns.size(), "one warning (at most one a minute): " + warns);
            Map<String, String> w = warns.get(0);
            assertTrue(num(w, "rss") >= limit * 9 / 10, w.toString());
            assertEquals(limit, num(w, "container.limit"), w.toString());
            assertTrue(num(w, "native.other") >= 400L << 20, "the mallocs are native.other: " + w);
            assertTrue(num(w, "host.used") < 64L << 20, w.toString());
            assertTrue(w.get("message").contains("of the container's memory limit while governed memory is under its limit"),
                    w.toString());
        } finally {
            for (int i = 0; i < 50 && !deleted(cg); i++) {
                Thread.sleep(100); // the JVM's exit leaves the cgroup a moment later
            }
        }
    }

    private static boolean deleted(Path cgroup) {
        try {
            java.nio.file.Files.deleteIfExists(cgroup); // rmdir of an empty cgroup
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
