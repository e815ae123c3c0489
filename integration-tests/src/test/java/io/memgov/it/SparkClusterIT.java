package io.memgov.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * memgov on a real Spark standalone cluster on this machine: a Master and two Workers (each its own JVM,
 * 1 core and 1 GiB for executors), the example job {@code SparkInference} submitted with spark-submit
 * twice: without memgov, then with the agent on every executor
 * ({@code spark.executor.extraJavaOptions=-javaagent:...}) under {@code host.limit=16m} (each executor's
 * working set is about 64 MiB) with a relative {@code log.file} naming the executor and the pid.
 */
class SparkClusterIT {
    static final long LIMIT = 16L << 20;
    static final String JOB = "io.memgov.examples.spark.SparkInference";
    /** partitions, models, layers, requests, arrays, MiB: per partition 16 MiB of DJL weights and 48 MiB of ND4J arrays. */
    static final String[] ARGS = {"4", "4", "4", "150", "12", "4"};

    @Test
    void everyExecutorIsGovernedWithTheSameResultsAndOneReportCoversThemAll() throws Exception {
        Path dir = Forked.WORK.resolve("spark-cluster-" + ProcessHandle.current().pid());
        boolean passed = false;
        SparkCluster cluster = SparkCluster.start(dir, 2);
        try {
            Forked plain = cluster.submit("plain", conf(null), JOB, Forked.EXAMPLES.toString(), 300, ARGS);
            assertEquals(0, plain.exitCode, plain.toString());
            // sites=all: every allocation names its site, so the merged site table names the job's
            String agent = "host.limit=16m,log.file=memgov-{executor}-{pid}.log,report.interval=500ms,sites=all";
            Forked governed = cluster.submit("governed", conf(agent), JOB, Forked.EXAMPLES.toString(), 300, ARGS);
            assertEquals(0, governed.exitCode, governed.toString());

            // the job's results are the same, bit for bit
            List<String> expected = results(plain.stdout);
            assertEquals(ARGS[0].equals("4") ? 5 : -1, expected.size(), plain.toString());
            assertEquals(expected, results(governed.stdout), "every partition's digest must be the same with memgov");

            String plainApp = appId(plain.stdout);
            String app = appId(governed.stdout);
            for (Path d : cluster.executorDirs(plainApp)) {
                assertEquals(List.of(), memgovLogs(d), "no memgov log without the agent in " + d);
            }

            // every executor wrote its own log, in its working directory, next to Spark's stderr
            List<Path> execs = cluster.executorDirs(app);
            assertEquals(2, execs.size(), "one executor per Worker: " + execs);
            Set<String> ids = new HashSet<>();
            long spills = 0;
            long restores = 0;
            List<Path> logs = new ArrayList<>();
            for (Path exec : execs) {
                String execId = exec.getFileName().toString();
                assertTrue(Files.exists(exec.resolve("stderr")), exec.toString());
                List<Path> mine = memgovLogs(exec);
                assertEquals(1, mine.size(), "one memgov log in " + exec + ": " + mine);
                Path log = mine.get(0);
                logs.add(log);
                MemgovLog l = MemgovLog.read(log);
                Map<String, String> start = l.one("start");
                assertEquals("executor", start.get("role"), log.toString());
                assertEquals(execId, start.get("spark.executor.id"), log.toString());
                assertEquals(app, start.get("spark.app.id"), log.toString());
                assertEquals("127.0.0.1", start.get("host"), log.toString());
                assertEquals("memgov-" + execId + "-" + start.get("pid") + ".log", log.getFileName().toString());
                assertEquals(String.valueOf(LIMIT), start.get("host.limit"));
                ids.add(start.get("spark.executor.id"));
                for (Map<String, String> r : l.all("report")) {
                    assertEquals(execId, r.get("spark.executor.id"), "a report names its executor");
                }
                Map<String, String> summary = l.one("summary");
                assertEquals(execId, summary.get("spark.executor.id"));
                assertTrue(MemgovLog.num(summary, "spills") > 0, "executor " + execId + " spilled: " + summary);
                assertTrue(MemgovLog.num(summary, "restores") > 0, "executor " + execId + " restored: " + summary);
                assertTrue(MemgovLog.num(summary, "host.peak") <= LIMIT, "host.peak within the limit: " + summary);
                assertTrue(MemgovLog.num(summary, "host.peak") > LIMIT / 2, "the limit was used: " + summary);
                assertEquals(0, MemgovLog.num(summary, "failures"), summary.toString());
                spills += MemgovLog.num(summary, "spills");
                restores += MemgovLog.num(summary, "restores");
            }
            assertEquals(2, ids.size(), "two executors, two ids: " + ids);

            // one report over the Workers' directories of the application: a row per executor and the totals
            List<String> cmd = new ArrayList<>(List.of(Forked.java(), "-jar", Forked.AGENT.toString(), "report"));
            for (Path w : cluster.workerDirs) {
                cmd.add(w.resolve(app).toString());
            }
            Forked report = run(cmd);
            assertEquals(0, report.exitCode, report.toString());
            System.out.println("SparkClusterIT: " + String.join(" ", cmd.subList(1, cmd.size())) + "\n" + report.stdout);
            System.out.println("SparkClusterIT: an executor's start event: " + MemgovLog.read(logs.get(0)).text.lines()
                    .filter(x -> x.contains("event=start")).findFirst().orElse(""));
            List<String> rows = report.stdout.lines().filter(s -> s.matches("  [0-9]+ .*") && cells(s).contains("executor"))
                    .collect(Collectors.toList());
            assertEquals(2, rows.size(), report.stdout);
            for (Path log : logs) {
                MemgovLog l = MemgovLog.read(log);
                String pid = l.one("start").get("pid");
                String id = l.one("start").get("spark.executor.id");
                assertTrue(rows.stream().anyMatch(r -> cells(r).contains(pid) && cells(r).contains(id)),
                        "a row for executor " + id + " (pid " + pid + "):\n" + report.stdout);
            }
            List<String> total = report.stdout.lines().filter(s -> s.startsWith("  total")).map(SparkClusterIT::cells)
                    .findFirst().orElseThrow(() -> new AssertionError("no total row:\n" + report.stdout));
            assertTrue(total.contains(String.valueOf(spills)), "total spills " + spills + ": " + total + "\n" + report.stdout);
            assertTrue(total.contains(String.valueOf(restores)), "total restores " + restores + ": " + total);
            assertTrue(report.stdout.contains("2 JVMs"), report.stdout);
            assertTrue(report.stdout.contains("io.memgov.examples.spark.PartitionWork.run"),
                    "the merged site table names the job's allocation site:\n" + report.stdout);
            passed = true;
        } finally {
            if (!passed) {
                cluster.keepLogs(Forked.WORK.resolve("spark-cluster-failed"));
            }
            cluster.close();
        }
        assertFalse(Files.exists(dir), dir + " removed");
    }

    /** The job's --conf pairs; {@code agent} null: no memgov. */
    static List<String> conf(String agent) throws IOException {
        List<String> c = new ArrayList<>();
        c.add("spark.executor.memory=512m");
        c.add("spark.executor.cores=1");
        c.add("spark.cores.max=2");
        c.add("spark.driver.memory=512m");
        c.add("spark.driver.host=127.0.0.1");
        c.add("spark.driver.bindAddress=127.0.0.1");
        c.add("spark.ui.enabled=false");
        c.add("spark.scheduler.minRegisteredResourcesRatio=1.0");
        c.add("spark.scheduler.maxRegisteredResourcesWaitingTime=120s");
        c.add("spark.executorEnv.OMP_NUM_THREADS=1");
        // DJL and ND4J at a path present on every node (here: the build's), on the executors' class path
        c.add("spark.executor.extraClassPath=" + frameworkJars());
        String opts = "-Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1"
                + " -XX:TieredStopAtLevel=1";
        if (agent != null) {
            opts = "-javaagent:" + Forked.AGENT + "=" + agent + " " + opts;
        }
        c.add("spark.executor.extraJavaOptions=" + opts);
        return c;
    }

    /**
     * The libraries Spark brings itself in other versions (Spark's own go first on an executor's class path
     * only when these are left out of spark.executor.extraClassPath). ND4J's shaded guava, jackson and
     * protobuf share names with libraries Spark has, but are others: they stay.
     */
    static final Set<String> SPARK_HAS = Set.of("commons-codec", "commons-collections4", "commons-compress",
            "commons-io", "commons-lang3", "commons-math3", "gson", "slf4j-api");

    /** examples/target/lib (DJL, ND4J and theirs) less {@link #SPARK_HAS}. */
    static String frameworkJars() throws IOException {
        try (Stream<Path> s = Files.list(Forked.EXAMPLES_LIB)) {
            return s.filter(p -> !SPARK_HAS.contains(artifact(p.getFileName().toString()))).sorted()
                    .map(Path::toString).collect(Collectors.joining(File.pathSeparator));
        }
    }

    /** {@code commons-io-2.7.jar} -> {@code commons-io}. */
    static String artifact(String jar) {
        return jar.replaceAll("-[0-9].*$", "");
    }

    static List<String> results(String stdout) {
        List<String> out = new ArrayList<>();
        for (String l : stdout.split("\n")) {
            if (l.startsWith("partition=")) {
                int ms = l.indexOf(" ms=");
                out.add(ms < 0 ? l : l.substring(0, ms));
            } else if (l.startsWith("job.digest=")) {
                out.add(l.trim());
            }
        }
        return out;
    }

    static String appId(String stdout) {
        for (String l : stdout.split("\n")) {
            int i = l.indexOf("app.id=");
            if (l.startsWith("job.ms=") && i > 0) {
                return l.substring(i + "app.id=".length()).trim();
            }
        }
        throw new AssertionError("no app.id in:\n" + stdout);
    }

    static List<Path> memgovLogs(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("memgov")
                    && p.getFileName().toString().endsWith(".log")).sorted().collect(Collectors.toList());
        }
    }

    static List<String> cells(String row) {
        return List.of(row.trim().split("\\s+"));
    }

    static Forked run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        return Forked.of(p.waitFor(), out, err);
    }
}
