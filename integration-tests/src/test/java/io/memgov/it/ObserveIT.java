package io.memgov.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Allocation sites, leaks, the JMX MBean, live config reload and JFR events over the real agent. */
class ObserveIT {
    private static final String WORKLOAD = "io.memgov.examples.ObserveWorkload";
    private static final String SITE_PREFIX = "io.memgov.examples.ObserveWorkload.";

    @Test
    void theSummaryNamesTheSitesOfTensorsStillLiveAtExit() throws Exception {
        Path log = Forked.newLog("sites");
        // default sites=sample: 16 MiB arrays are large, so each records its site
        Forked run = Forked.run("log.file=" + log, List.of(), Forked.examplesClassPath(), WORKLOAD, "live");
        assertEquals(0, run.exitCode, run.toString());
        assertEquals("sample", MemgovLog.read(log).one("start").get("sites"));
        Map<String, String> summary = MemgovLog.read(log).one("summary");
        assertEquals(2L, num(summary, "live"), summary.toString());
        String liveSites = summary.get("live.sites");
        assertTrue(liveSites.matches("io\\.memgov\\.examples\\.ObserveWorkload\\.allocateLive\\(ObserveWorkload\\.java:[0-9]+\\):2:33554432"),
                "site:tensors:bytes of the two arrays left open: " + liveSites);
        String site = liveSites.substring(0, liveSites.indexOf("):") + 1);
        assertEquals(site + ":33554432", summary.get("top.live"), summary.toString());
        assertTrue(summary.get("top.allocated").startsWith(site + ":50331648"), summary.toString());
        assertTrue(summary.containsKey("alloc.size.max"), summary.toString());
    }

    @Test
    void nd4jBuffersCollectedWithoutCloseAreLeaksWithTheirSite() throws Exception {
        Path log = Forked.newLog("leak");
        // sites=all: every buffer records its site (with sample, only about one in 256 under 16 MiB)
        Forked run = Forked.run("log.file=" + log + ",sites=all", List.of(), Forked.examplesClassPath(), WORKLOAD, "nd4j-leak", "8");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("leaks=8"), run.toString());
        MemgovLog l = MemgovLog.read(log);
        List<Map<String, String>> leaks = l.all("leak");
        assertEquals(8, leaks.size(), l.text);
        for (Map<String, String> e : leaks) {
            assertEquals("1048576", e.get("bytes"), e.toString());
            assertEquals("nd4j", e.get("framework"), e.toString());
            assertTrue(e.get("site").startsWith(SITE_PREFIX + "leakNd4j(ObserveWorkload.java:"), e.toString());
            assertTrue(num(e, "id") > 0, e.toString());
        }
        Map<String, String> summary = l.one("summary");
        assertEquals(8L, num(summary, "leaks"), summary.toString());
        assertEquals(8L << 20, num(summary, "leak.bytes"), summary.toString());
        assertEquals(0L, num(summary, "host.used.nd4j"), "a leaked buffer is released when collected: " + summary);
        assertEquals(num(summary, "pool.bytes"), num(summary, "host.used"), "its block went to the pool: " + summary);
        assertTrue(summary.get("leak.sites").startsWith(SITE_PREFIX + "leakNd4j("), summary.toString());
    }

    @Test
    void theMBeanShowsTheFiguresAndChangesLimits() throws Exception {
        Path log = Forked.newLog("jmx");
        Forked run = Forked.run("log.file=" + log, List.of(), Forked.examplesClassPath(), WORKLOAD, "jmx");
        assertEquals(0, run.exitCode, run.toString());
        List<String> out = lines(run.stdout);
        int i = out.indexOf("jmx.HostUsed=3145728");
        assertTrue(i >= 0, run.toString());
        assertEquals(List.of("jmx.HostUsed=3145728", "jmx.HostPeak=3145728", "jmx.HostLimit=-1", "jmx.DiskLimit=-1",
                "jmx.LiveTensors=2", "jmx.PoolHits=0", "jmx.PoolMisses=0", "jmx.Spills=0", "jmx.Restores=0",
                "jmx.OnLimit=spill",
                "setLimit 4gb: memgov: memgov.host.limit=4gb (from JMX) is not a size: use e.g. 512m, 4g, 25% or none",
                "setLimit gpu: memgov: tier gpu is not one of host, device, disk",
                "jmx.HostLimit=67108864",
                "jmx.HostUsed=2097152", "jmx.HostPeak=3145728",
                "jmx.HostPeak=2097152", "jmx.LiveTensors=1"), out.subList(i, out.size()));
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> change = l.one("config-change");
        assertEquals(Map.of("event", "config-change", "key", "memgov.host.limit", "old", "none", "new", "64m",
                "source", "JMX"), change);
        assertEquals(64L << 20, num(l.one("summary"), "host.limit"));
    }

    @Test
    void loweringHostLimitInTheConfigFileMakesTheNextAllocationSpill() throws Exception {
        Path log = Forked.newLog("reload");
        Path dir = Files.createTempDirectory(Forked.WORK, "reload-");
        Path config = dir.resolve("memgov.properties");
        Path go = dir.resolve("go");
        write(config, "host.limit=64m\nlog.file=" + log + "\n");
        List<String> cmd = List.of(Forked.java(), "-javaagent:" + Forked.AGENT + "=config=" + config,
                "-Dai.djl.offline=true", "-cp", Forked.examplesClassPath(), WORKLOAD, "reload", go.toString());
        Path out = dir.resolve("stdout.txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("MEMGOV_"));
        Process p = pb.start();
        try {
            waitFor(() -> read(out).contains("ready"), "the workload's first allocation", out);
            // an invalid edit: rejected with the message given at start, the old limit stays
            write(config, "host.limit=6gb\nlog.file=" + log + "\n");
            waitFor(() -> read(log).contains("event=config-error"), "config-error", log);
            Map<String, String> error = MemgovLog.read(log).one("config-error");
            assertEquals("memgov.host.limit", error.get("key"));
            assertEquals("6gb", error.get("value"));
            assertEquals("memgov: memgov.host.limit=6gb (from config file " + config + ") is not a size: use e.g. 512m, 4g,"
                    + " 25% or none; the edit is ignored and the current settings stay", error.get("message"));
            // a valid one: applied while the JVM runs
            write(config, "host.limit=6m\nlog.file=" + log + "\n");
            waitFor(() -> read(log).contains("event=config-change"), "config-change", log);
            Files.createFile(go);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the workload did not finish: " + read(out));
            assertEquals(0, p.exitValue(), read(out));
        } finally {
            p.destroyForcibly();
        }
        String stdout = read(out);
        assertTrue(stdout.contains("sum=1048576.0,1048576.0") && stdout.contains("done"), stdout);
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> change = l.one("config-change");
        assertEquals("memgov.host.limit", change.get("key"));
        assertEquals("64m", change.get("old"));
        assertEquals("6m", change.get("new"));
        assertEquals("config file " + config, change.get("source"));
        assertEquals(6291456L, num(l.all("limit").get(0), "limit"), l.text);
        List<Map<String, String>> spills = l.all("spill");
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "spills") >= 1, "the allocation after the change spilled: " + summary);
        assertEquals(6291456L, num(summary, "host.limit"));
        assertTrue(num(summary, "host.peak") <= 64L << 20, summary.toString());
        assertTrue(spills.isEmpty() || "4194304".equals(spills.get(0).get("bytes")), spills.toString());
    }

    /**
     * Sites by bytes: in a spill-heavy run (a working set of 8 times host.limit, the default
     * sites=sample) the workload's own sites carry the allocated bytes, and no site is 'unsampled'
     * (before, nearly every byte of such a run was 'unsampled'). DJL and ND4J.
     */
    @Test
    void aSpillHeavyRunAttributesItsBytesToTheWorkloadsSites() throws Exception {
        for (String workload : new String[]{"io.memgov.examples.SpillWorkload", "io.memgov.examples.Nd4jSpillWorkload"}) {
            Path log = Forked.newLog("sites-by-bytes");
            Path spillDir = Forked.WORK.resolve("spill-" + System.nanoTime());
            Forked run = Forked.run("log.file=" + log + ",host.limit=32m,disk.dir=" + spillDir, List.of(),
                    Forked.examplesClassPath(), workload, "64", "4", "100");
            assertEquals(0, run.exitCode, run.toString());
            Map<String, String> summary = MemgovLog.read(log).one("summary");
            assertTrue(num(summary, "spills") > 0, summary.toString());
            long total = 0;
            long atWorkload = 0;
            for (String k : new String[]{"top.allocated", "top.live", "live.sites", "leak.sites"}) {
                assertTrue(!summary.get(k).contains("unsampled"), k + ": " + summary);
            }
            for (String e : summary.get("top.allocated").split(";")) {
                long bytes = Long.parseLong(e.substring(e.lastIndexOf(':') + 1));
                total += bytes;
                atWorkload += e.startsWith(workload + ".") ? bytes : 0;
            }
            long allocated = num(summary, "allocated.bytes");
            long n = num(summary, "sites.sample.bytes");
            String what = workload + ": top.allocated=" + summary.get("top.allocated") + " allocated.bytes=" + allocated
                    + " sites.sample.bytes=" + n;
            System.out.println(what);
            assertTrue(atWorkload >= 0.9 * total && atWorkload > 0, "the workload's sites carry most of top.allocated: " + what);
            // an estimate: 256 MiB of 4 MiB arrays and more, sampled at least every sites.sample.bytes on average
            double se = Math.sqrt((double) Math.max(n, 4L << 20) * allocated);
            assertTrue(Math.abs(total - allocated) <= 4 * se, "top.allocated estimates allocated.bytes: " + what);
        }
    }

    @Test
    void jfrRecordsAllocationsSpillsRestoresAndLimits() throws Exception {
        Path log = Forked.newLog("jfr");
        Path jfr = Forked.WORK.resolve("memgov-" + System.nanoTime() + ".jfr");
        Path spillDir = Forked.WORK.resolve("spill-" + System.nanoTime());
        Forked run = Forked.run("log.file=" + log + ",host.limit=32m,sites=all,disk.dir=" + spillDir,
                List.of("-XX:StartFlightRecording=filename=" + jfr), Forked.examplesClassPath(),
                "io.memgov.examples.SpillWorkload", "16", "4", "60");
        assertEquals(0, run.exitCode, run.toString());
        Map<String, String> summary = MemgovLog.read(log).one("summary");
        assertTrue(num(summary, "spills") > 0 && num(summary, "restores") > 0, summary.toString());
        Path tool = Paths.get(System.getProperty("java.home"), "bin", "jfr");
        Process p = new ProcessBuilder(tool.toString(), "print", "--events", "io.memgov.*", jfr.toString())
                .redirectErrorStream(true).start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), printed);
        assertEquals(num(summary, "spills"), count(printed, "io.memgov.Spill {"), "one JFR event a spill");
        assertEquals(num(summary, "restores"), count(printed, "io.memgov.Restore {"), "one JFR event a restore");
        assertTrue(count(printed, "io.memgov.LimitReached {") >= 1, printed);
        // sites=all: every allocation is an Allocation event with its site
        assertTrue(count(printed, "io.memgov.Allocation {") >= 16, printed);
        assertTrue(printed.contains("site = \"io.memgov.examples.SpillWorkload.main(SpillWorkload.java:"), printed);
        assertTrue(printed.contains("from = \"host\"") && printed.contains("to = \"disk\""), printed);
    }

    private static long count(String s, String what) {
        long n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    private static List<String> lines(String s) {
        List<String> out = new ArrayList<>();
        for (String l : s.split("\n")) {
            out.add(l.trim());
        }
        return out;
    }

    /** Writes the file whole (a rename), as an editor saving it. */
    private static void write(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private interface Check {
        boolean ok();
    }

    private static void waitFor(Check check, String what, Path show) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!check.ok()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + what + " within 60 s:\n" + read(show));
            }
            Thread.sleep(50);
        }
    }
}
