package io.memgov.agent.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code report DIR|LOG...}: one report over the logs of several JVMs (here: a Spark application's executors). */
class MultiReportTest {
    static Object[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = ReportCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Object[]{rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    static String executorLog(String exec, long pid, long peak, long spills, long restores, String site, long siteBytes,
                              String leakSite, long leakBytes, boolean summary) {
        String id = "role=executor spark.app.id=app-1 spark.executor.id=" + exec + " host=10.0.0." + exec;
        StringBuilder b = new StringBuilder();
        b.append("2026-12-01T10:00:00Z INFO memgov event=start version=0.1.0 pid=").append(pid).append(" host=10.0.0.")
                .append(exec).append(" role=executor spark.app.id=app-1 spark.executor.id=").append(exec)
                .append(" frameworks=djl,nd4j host.limit=16777216 device.limit=-1 disk.limit=-1 disk.dir=/tmp/x on-limit=spill startup.ms=5\n");
        b.append("2026-12-01T10:00:01Z INFO memgov event=report ").append(id).append(" host.used=1000 host.peak=")
                .append(peak / 2).append(" host.limit=16777216 spills=1 restores=0 failures=0\n");
        if (summary) {
            b.append("2026-12-01T10:00:02Z INFO memgov event=summary ").append(id).append(" host.used=0 host.peak=")
                    .append(peak).append(" host.limit=16777216 device.used=0 device.peak=0 disk.used=0 disk.peak=0 spills=")
                    .append(spills).append(" restores=").append(restores).append(" failures=0 leaks=1 leak.bytes=")
                    .append(leakBytes).append(" top.allocated=").append(site).append(':').append(siteBytes)
                    .append(";other.Site.x(X.java:1):10 leak.sites=").append(leakSite).append(':').append(leakBytes)
                    .append(" live.sites=\"\" uptime.ms=2000\n");
        }
        return b.toString();
    }

    private static Path app(Path dir) throws Exception {
        // Spark standalone: work/APP/EXEC/{stderr,stdout,memgov-EXEC-PID.log}, an app jar beside them
        String site = "io.memgov.examples.spark.PartitionWork.run(PartitionWork.java:60)";
        Path e0 = Files.createDirectories(dir.resolve("worker-0/app-1/0"));
        Path e1 = Files.createDirectories(dir.resolve("worker-1/app-1/1"));
        Files.writeString(e0.resolve("memgov-0-101.log"), executorLog("0", 101, 16000000, 40, 30, site, 1000, "a.B.c(B.java:2)", 64, true));
        Files.writeString(e1.resolve("memgov-1-202.log"), executorLog("1", 202, 15000000, 2, 1, site, 500, "a.B.c(B.java:2)", 36, true));
        Files.writeString(e0.resolve("stderr"), "26/12/01 INFO Executor: Starting executor ID 0\n");
        Files.writeString(e1.resolve("stdout"), "");
        Files.write(e0.resolve("memgov-examples.jar"), new byte[]{'P', 'K', 3, 4});
        return dir;
    }

    private static List<String> cells(String row) {
        return Arrays.asList(row.trim().split("\\s{2,}"));
    }

    @Test
    void aDirectoryGivesOneRowPerJvmAndATotal(@TempDir Path dir) throws Exception {
        app(dir);
        Object[] r = run(dir.toString());
        assertEquals(0, r[0], (String) r[2]);
        String out = (String) r[1];
        assertTrue(out.startsWith("memgov report: 2 logs, 2 JVMs (2 files without memgov events skipped)\n"), out);
        List<String> rows = out.lines().filter(l -> l.matches("  [0-9]+ .*")).collect(Collectors.toList());
        assertEquals(2, rows.size(), out);
        assertEquals(Arrays.asList("1", "101", "10.0.0.0", "executor", "app-1", "0", "15.3 MiB", "16.0 MiB", "95.4%",
                "40", "30", "0", "1", dir.resolve("worker-0/app-1/0/memgov-0-101.log").toString()), cells(rows.get(0)));
        assertEquals(Arrays.asList("2", "202", "10.0.0.1", "executor", "app-1", "1", "14.3 MiB", "16.0 MiB", "89.4%",
                "2", "1", "0", "1", dir.resolve("worker-1/app-1/1/memgov-1-202.log").toString()), cells(rows.get(1)));
        String total = out.lines().filter(l -> l.startsWith("  total")).findFirst().orElseThrow();
        assertEquals(Arrays.asList("total", "2 JVMs", "2 hosts", "-", "app-1", "-", "29.6 MiB", "32.0 MiB", "92.4%",
                "42", "31", "0", "2"), cells(total));
        // the sites merged over the JVMs: bytes summed, the JVMs named
        assertTrue(out.contains("  io.memgov.examples.spark.PartitionWork.run(PartitionWork.java:60)  1.5 KiB (1500)  2 (1,2)"), out);
        assertTrue(out.contains("  a.B.c(B.java:2)  100 B  2 (1,2)"), out);
        assertEquals("", r[2]);
    }

    @Test
    void severalFilesAndGlobsReadTheSame(@TempDir Path dir) throws Exception {
        app(dir);
        Object[] files = run(dir.resolve("worker-0/app-1/0/memgov-0-101.log").toString(),
                dir.resolve("worker-1/app-1/1/memgov-1-202.log").toString());
        assertEquals(0, files[0], (String) files[2]);
        assertTrue(((String) files[1]).startsWith("memgov report: 2 logs, 2 JVMs\n"), (String) files[1]);
        Object[] glob = run(dir + "/worker-*/app-1/*/memgov-*.log");
        assertEquals(0, glob[0], (String) glob[2]);
        assertEquals(files[1], glob[1]);
    }

    @Test
    void oneExecutorsLogAloneGetsTheSingleReportNamingTheExecutor(@TempDir Path dir) throws Exception {
        app(dir);
        Object[] r = run(dir.resolve("worker-0/app-1/0/memgov-0-101.log").toString());
        assertEquals(0, r[0], (String) r[2]);
        assertTrue(((String) r[1]).contains("memgov 0.1.0, pid 101, frameworks djl,nd4j, on-limit=spill,"
                + " Spark executor 0 of app-1 on 10.0.0.0\n"), (String) r[1]);
        assertTrue(((String) r[1]).contains("Memory by tier"), (String) r[1]);
    }

    @Test
    void aJvmWithoutSummaryIsReportedFromItsLastReportWithAWarning(@TempDir Path dir) throws Exception {
        app(dir);
        Files.writeString(dir.resolve("worker-1/app-1/1/memgov-1-202.log"),
                executorLog("1", 202, 15000000, 2, 1, "s.S.s(S.java:1)", 5, "x", 1, false));
        Object[] r = run(dir.toString());
        assertEquals(0, r[0]);
        assertTrue(((String) r[2]).contains("memgov report: warning: " + dir.resolve("worker-1/app-1/1/memgov-1-202.log")
                + ": no summary event for pid 202"), (String) r[2]);
        assertTrue(((String) r[1]).contains("WARNING: "), (String) r[1]);
        String row = ((String) r[1]).lines().filter(l -> l.startsWith("  2  ")).findFirst().orElseThrow();
        assertEquals("7.2 MiB", cells(row).get(6), "the last report's peak");
    }

    @Test
    void theHtmlPageDrawsEachJvmsHostTimeline(@TempDir Path dir) throws Exception {
        app(dir);
        Path html = dir.resolve("all.html");
        Object[] r = run(dir.toString(), "--html", html.toString());
        assertEquals(0, r[0], (String) r[2]);
        String page = Files.readString(html);
        assertEquals(2, page.split("<svg class=\"chart\"", -1).length - 1, "one HOST chart per JVM");
        assertTrue(page.contains("id=\"chart-1-host\"") && page.contains("id=\"chart-2-host\""), page);
        assertTrue(page.contains("executor 0, pid 101 on 10.0.0.0") && page.contains("executor 1, pid 202 on 10.0.0.1"));
        assertTrue(page.contains("data-limit=\"16777216\""));
        assertTrue(!page.contains("<script") && !page.contains("http://") || page.contains("http://www.w3.org/2000/svg"));
    }

    @Test
    void badInputsAreExitCode2(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("app.log"), "hello\n");
        Object[] r = run(dir.toString());
        assertEquals(2, r[0]);
        assertEquals("memgov report: " + dir + ": is a directory, not a memgov log\n", r[2]);
        r = run(dir + "/nothing-*.log");
        assertEquals(2, r[0]);
        assertEquals("memgov report: " + dir + "/nothing-*.log: no file matches\n", r[2]);
        app(dir);
        r = run(dir.toString(), dir.resolve("missing.log").toString());
        assertEquals(2, r[0]);
        assertEquals("memgov report: " + dir.resolve("missing.log") + ": no such file\n", r[2]);
    }
}
