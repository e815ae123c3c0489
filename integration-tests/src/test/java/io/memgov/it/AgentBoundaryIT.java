package io.memgov.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What users see at the agent's edges: configuration errors, strict mode, their own logging, the tool. */
class AgentBoundaryIT {

    @Test
    void aBadValueRunsTheAppUngovernedWithTheErrorInTheLogAndOnStderr() throws Exception {
        Path logFile = Forked.newLog("bad-value");
        Forked run = Forked.run("log.file=" + logFile, List.of("-Dmemgov.host.limit=4gb"), Forked.examplesClassPath(),
                "io.memgov.examples.DjlSequences");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("done"), run.toString());
        String expected = "memgov: memgov.host.limit=4gb (from system property) is not a size: use e.g. 512m, 4g, 25% or none";
        assertTrue(run.stderr.contains(expected), run.stderr);
        assertTrue(run.stderr.contains("the application runs ungoverned"), run.stderr);
        MemgovLog log = MemgovLog.read(logFile);
        Map<String, String> err = log.one("config-error");
        assertEquals("memgov.host.limit", err.get("key"));
        assertEquals("4gb", err.get("value"));
        assertEquals("system property", err.get("source"));
        assertEquals(expected, err.get("message"));
        assertTrue(log.all("instrumented").isEmpty(), "nothing may be installed: " + log.text);
        assertTrue(log.all("summary").isEmpty(), log.text);
        assertTrue(log.all("start").isEmpty(), log.text);
    }

    @Test
    void strictModeStopsTheJvmAndSaysWhy() throws Exception {
        Path logFile = Forked.newLog("strict");
        Forked run = Forked.run("log.file=" + logFile + ",strict=true,on-limit=spil", List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.DjlSequences");
        assertEquals(1, run.exitCode, run.toString());
        assertFalse(run.stdout.contains("checkpoint"), "the application must not run: " + run);
        assertTrue(run.stderr.contains("memgov: memgov.on-limit=spil (from agent options) is not one of spill, wait, fail"), run.stderr);
        assertTrue(run.stderr.contains("memgov.strict=true") && run.stderr.contains("the JVM does not start"), run.stderr);
        assertEquals("memgov.on-limit", MemgovLog.read(logFile).one("config-error").get("key"));
    }

    @Test
    void anUnknownKeyIsAWarningWithTheClosestKeyAndTheAppIsGoverned() throws Exception {
        Path logFile = Forked.newLog("unknown-key");
        Forked run = Forked.run("log.file=" + logFile, List.of("-Dmemgov.host.limt=1g"), Forked.examplesClassPath(),
                "io.memgov.examples.DjlSequences");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stderr.contains("memgov: unknown key memgov.host.limt (from system property): did you mean memgov.host.limit?"), run.stderr);
        MemgovLog log = MemgovLog.read(logFile);
        assertEquals("memgov.host.limt", log.one("config-warning").get("key"));
        assertEquals(0, num(log.one("summary"), "host.used"));
    }

    @Test
    void anUnusableSpillDirectoryIsSaidAtStart() throws Exception {
        Path logFile = Forked.newLog("bad-disk-dir");
        Path notADir = Forked.WORK.resolve("not-a-dir-" + System.nanoTime());
        Files.writeString(notADir, "a file");
        Forked run = Forked.run("log.file=" + logFile + ",host.limit=1g,disk.dir=" + notADir + "/spill", List.of(),
                Forked.examplesClassPath(), "io.memgov.examples.DjlSequences");
        assertEquals(0, run.exitCode, run.toString());
        String expected = "memgov: memgov.disk.dir=" + notADir + "/spill (from agent options) is under " + notADir
                + ", which is not a directory: tensors cannot be spilled, so allocations over memgov.host.limit will"
                + " wait, then fail. Set memgov.disk.dir to a writable directory";
        assertTrue(run.stderr.contains(expected), run.stderr);
        MemgovLog log = MemgovLog.read(logFile);
        assertEquals("memgov.disk.dir", log.one("config-warning").get("key"));
        assertEquals(expected, log.one("config-warning").get("message"));
        log.one("start"); // governing goes on: the limit is still enforced
        assertEquals(0, num(log.one("summary"), "host.used"));
    }

    @Test
    void configurationSourcesApplyByPrecedence() throws Exception {
        Path logFile = Forked.newLog("precedence");
        Path conf = Forked.WORK.resolve("precedence.properties");
        Files.writeString(conf, "host.limit=1g\ndevice.limit=2g\ndisk.limit=3g\nlog.file=" + logFile + "\n");
        Forked run = Forked.run("config=" + conf + ",host.limit=512m", List.of("-Dmemgov.device.limit=256m"),
                Forked.examplesClassPath(), Map.of("MEMGOV_DEVICE_LIMIT", "128m", "MEMGOV_DISK_LIMIT", "64m"),
                "io.memgov.examples.DjlSequences");
        assertEquals(0, run.exitCode, run.toString());
        Map<String, String> start = MemgovLog.read(logFile).one("start");
        assertEquals(512L << 20, num(start, "host.limit"), "agent option beats the file");
        assertEquals(256L << 20, num(start, "device.limit"), "system property beats the environment");
        assertEquals(64L << 20, num(start, "disk.limit"), "environment beats the file");
        assertEquals(conf.toString(), start.get("config.file"));
    }

    @Test
    void theJsonLogHasOneObjectALineWithTheSameFigures() throws Exception {
        Path logFile = Forked.newLog("json");
        Forked run = Forked.run("log.file=" + logFile + ",log.format=json", List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.DjlSequences");
        assertEquals(0, run.exitCode, run.toString());
        List<String> lines = Files.readAllLines(logFile);
        assertTrue(lines.size() >= 17, lines.toString()); // start, 2 instrumented, 14 checkpoints, summary
        for (String line : lines) {
            assertTrue(line.startsWith("{\"time\":\"") && line.endsWith("}"), line);
        }
        String summary = lines.stream().filter(l -> l.contains("\"event\":\"summary\"")).findFirst().orElseThrow();
        // sizes are JSON numbers, not strings
        assertTrue(summary.contains("\"host.used\":0,"), summary);
        assertTrue(summary.contains("\"host.peak\":91548,"), summary);
        assertTrue(summary.contains("\"host.limit\":-1,"), summary);
        String views = lines.stream().filter(l -> l.contains("\"label\":\"views\"")).findFirst().orElseThrow();
        assertTrue(views.contains("\"event\":\"report\"") && views.contains("\"host.used\":34012,"), views);
    }

    @Test
    void reportsComeEveryReportInterval() throws Exception {
        Path logFile = Forked.newLog("report-interval");
        // the wait mode holds the JVM for about 300 ms: long enough for several 50 ms reports
        Forked run = Forked.run("log.file=" + logFile + ",report.interval=50ms,host.limit=4200k,on-limit=wait",
                List.of(), Forked.examplesClassPath(), "io.memgov.examples.LimitWorkload", "djl", "wait-release");
        assertEquals(0, run.exitCode, run.toString());
        MemgovLog log = MemgovLog.read(logFile);
        long periodic = log.all("report").stream().filter(e -> !e.containsKey("label")).count();
        assertTrue(periodic >= 3, "expected several periodic reports: " + log.text);
        Map<String, String> any = log.all("report").stream().filter(e -> !e.containsKey("label")).findFirst().get();
        for (String f : DjlAccountingIT.SUMMARY_FIELDS) {
            assertTrue(any.containsKey(f), "report lacks " + f + ": " + any);
        }
    }

    @Test
    void disabledLoadsLogsOneLineAndTouchesNothing() throws Exception {
        Path logFile = Forked.newLog("disabled");
        Forked run = Forked.run("log.file=" + logFile + ",enabled=false", List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.DjlSequences");
        assertEquals(0, run.exitCode, run.toString());
        MemgovLog log = MemgovLog.read(logFile);
        assertEquals(1, log.events.size(), log.text);
        assertEquals("disabled", log.events.get(0).get("event"));
    }

    @Test
    void theApplicationsOwnLogbackAndOlderSlf4jAreUntouched() throws Exception {
        Path lib = Paths.get(System.getProperty("memgov.app.logging.lib", "target/app-logging-lib")).toAbsolutePath();
        Path conf = Forked.WORK.resolve("app-logback");
        Files.createDirectories(conf);
        Files.writeString(conf.resolve("logback.xml"), "<configuration>\n"
                + "  <appender name=\"OUT\" class=\"ch.qos.logback.core.ConsoleAppender\">\n"
                + "    <encoder><pattern>APP|%level|%logger{0}|%msg%n</pattern></encoder>\n"
                + "  </appender>\n"
                + "  <logger name=\"ai.djl\" level=\"WARN\"/>\n"
                + "  <root level=\"INFO\"><appender-ref ref=\"OUT\"/></root>\n"
                + "</configuration>\n");
        List<Path> parts = new ArrayList<>();
        parts.add(conf);
        try (var jars = Files.list(lib)) {
            jars.sorted().forEach(parts::add);
        }
        parts.add(Forked.EXAMPLES);
        String cp = Forked.cp(parts.toArray(new Path[0]));

        Forked plain = Forked.run(null, List.of(), cp, "io.memgov.examples.LoggingApp");
        Path logFile = Forked.newLog("app-logging");
        Forked governed = Forked.run("log.file=" + logFile, List.of(), cp, "io.memgov.examples.LoggingApp");
        assertEquals(0, plain.exitCode, plain.toString());
        assertEquals(0, governed.exitCode, governed.toString());
        List<String> expected = List.of("APP|INFO|LoggingApp|app started", "APP|INFO|LoggingApp|sum=512.0",
                "APP|WARN|LoggingApp|app done");
        assertEquals(expected, appLines(plain.stdout), plain.toString());
        assertEquals(expected, appLines(governed.stdout), governed.toString());
        assertFalse(governed.stdout.contains("memgov"), "memgov must not write to the app's log: " + governed.stdout);
        assertFalse(governed.stderr.contains("SLF4J"), "no SLF4J binding warnings: " + governed.stderr);

        MemgovLog log = MemgovLog.read(logFile);
        log.one("start");
        // PtNDArray, JniUtils, and PtNDManager (pooling, on by default)
        assertEquals(3, log.all("instrumented").size(), log.text);
        Map<String, String> summary = log.one("summary");
        // at least ones(256) float32, the sum's result and its scalar (1024 + 1024 + 4) were held at once
        assertTrue(num(summary, "host.peak") >= 2052, summary.toString());
        assertEquals(0, num(summary, "host.used"));
        assertEquals(num(summary, "allocations"), num(summary, "releases"));
    }

    static List<String> appLines(String stdout) {
        List<String> out = new ArrayList<>();
        for (String l : stdout.split("\n")) {
            if (l.startsWith("APP|") && l.contains("|LoggingApp|")) {
                out.add(l.trim());
            }
        }
        return out;
    }

    @Test
    void theJarIsAlsoATool() throws Exception {
        Forked usage = Forked.run(null, List.of(), Forked.AGENT.toString(), "io.memgov.agent.Main");
        assertEquals(0, usage.exitCode, usage.toString());
        assertTrue(usage.stdout.contains("java -javaagent:memgov-agent.jar"), usage.stdout);
        Forked bad = Forked.run(null, List.of(), Forked.AGENT.toString(), "io.memgov.agent.Main", "frobnicate");
        assertEquals(2, bad.exitCode, bad.toString());
        assertTrue(bad.stderr.contains("unknown command 'frobnicate'"), bad.stderr);
    }

    @Test
    void theAgentJarCarriesNoUnshadedLibraryClasses() throws Exception {
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(Forked.AGENT.toFile())) {
            List<String> leaked = new ArrayList<>();
            zip.stream().map(java.util.zip.ZipEntry::getName)
                    .filter(n -> n.endsWith(".class") && !n.startsWith("io/memgov/"))
                    .forEach(leaked::add);
            assertTrue(leaked.isEmpty(), "classes outside io/memgov: " + leaked);
            assertTrue(zip.stream().anyMatch(e -> e.getName().startsWith("io/memgov/shaded/net/bytebuddy/")));
            assertTrue(zip.stream().anyMatch(e -> e.getName().startsWith("io/memgov/shaded/ch/qos/logback/")));
            assertTrue(zip.stream().anyMatch(e -> e.getName().startsWith("io/memgov/shaded/org/slf4j/")));
            assertTrue(zip.stream().noneMatch(e -> e.getName().equals("META-INF/services/org.slf4j.spi.SLF4JServiceProvider")));
            java.util.jar.Manifest mf = new java.util.jar.JarFile(Forked.AGENT.toFile()).getManifest();
            assertEquals("io.memgov.agent.MemgovAgent", mf.getMainAttributes().getValue("Premain-Class"));
            assertEquals("io.memgov.agent.MemgovAgent", mf.getMainAttributes().getValue("Agent-Class"));
            assertEquals("true", mf.getMainAttributes().getValue("Can-Retransform-Classes"));
        }
    }
}
