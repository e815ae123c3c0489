package io.memgov.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Errors that name their real cause, as a user sees them over real DJL and ND4J with the real agent. */
class ErrorsIT {
    private static Forked limitRun(String options, String framework, String mode, Path log) throws Exception {
        return Forked.run("log.file=" + log + "," + options, List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.LimitWorkload", framework, mode);
    }

    @ParameterizedTest
    @ValueSource(strings = {"djl", "nd4j"})
    void aFullDiskLimitEndsInAnOomThatNamesTheDiskAndLosesNothing(String framework) throws Exception {
        Path log = Forked.newLog("disk-full-" + framework);
        Path dir = Forked.WORK.resolve("disk-full-" + framework + "-" + System.nanoTime());
        // HOST holds 4 arrays of 1 MiB, DISK 3 spill files of 1 MiB + 28 bytes: the 8th array has nowhere to go
        Forked run = limitRun("host.limit=4200k,disk.limit=3200k,wait.timeout=300ms,disk.dir=" + dir, framework,
                "fill-check", log);
        assertEquals(0, run.exitCode, run.toString());
        Matcher m = Pattern.compile("refused: (.*)").matcher(run.stdout);
        assertTrue(m.find(), run.toString());
        String msg = m.group(1);
        assertTrue(msg.startsWith("memgov: HOST limit reached: requested 1048576 bytes (1 MiB)"), msg);
        assertTrue(msg.contains("on-limit=spill: nothing more could be spilled: the DISK tier is at its limit (spill files hold "
                + 3 * (1048576 + 28) + " bytes (3 MiB) of memgov.disk.limit=3276800 bytes (3.13 MiB) in memgov.disk.dir="
                + dir + "; a spill file of 1048604 bytes did not fit)"), msg);
        assertTrue(msg.endsWith("Raise memgov.disk.limit (or memgov.host.limit), or close arrays that are no longer needed"), msg);
        assertFalse(msg.contains("tensors in use"), msg);
        // nothing lost: every array, spilled or not, reads back its own value
        assertFalse(run.stdout.contains("WRONG"), run.toString());
        Matcher fitted = Pattern.compile("fitted=(\\d+)").matcher(run.stdout);
        assertTrue(fitted.find(), run.toString());
        assertTrue(run.stdout.contains("values intact=" + fitted.group(1) + "\n"), run.toString());
        assertTrue(Integer.parseInt(fitted.group(1)) >= 7, "4 in memory and 3 spilled fit: " + run);
        assertTrue(run.stdout.contains("usable again"), run.toString());
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> refusal = l.all("limit").stream().filter(e -> "fail".equals(e.get("action")))
                .findFirst().orElseThrow(() -> new AssertionError(l.text));
        assertEquals(msg, refusal.get("message"));
        Map<String, String> summary = l.one("summary");
        assertEquals(1, num(summary, "failures"));
        assertTrue(num(summary, "disk.failures") >= 1, summary.toString());
        assertTrue(num(summary, "disk.peak") <= 3276800, summary.toString());
    }

    /** SpillCorruption: 8 arrays of 4 MiB under 16m, read after {@code damage} ran on their spill files. */
    private static String corruptionRun(Path log, Path spillDir, String options, java.util.function.Consumer<List<Path>> damage)
            throws Exception {
        Path go = Forked.WORK.resolve("go-" + System.nanoTime());
        Path out = Files.createTempFile(Forked.WORK, "errors-", ".out");
        Process p = new ProcessBuilder(Forked.java(), "-javaagent:" + Forked.AGENT + "=log.file=" + log
                + ",host.limit=16m,disk.dir=" + spillDir + options, "-Dai.djl.offline=true", "-cp", Forked.examplesClassPath(),
                "io.memgov.examples.SpillCorruption", go.toString())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            long deadline = System.currentTimeMillis() + 120_000;
            while (!Files.readString(out).contains("waiting") && System.currentTimeMillis() < deadline && p.isAlive()) {
                Thread.sleep(50);
            }
            List<Path> files;
            try (var list = Files.list(spillDir)) {
                files = list.collect(Collectors.toList());
            }
            damage.accept(files);
            Files.createFile(go);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        String stdout = Files.readString(out);
        assertEquals(0, p.exitValue(), stdout);
        return stdout;
    }

    @Test
    void aMissingSpillFileIsAnErrorForTheApplicationAndAnErrorEventInTheLog() throws Exception {
        Path log = Forked.newLog("missing");
        Path spillDir = Forked.WORK.resolve("spill-missing-" + System.nanoTime());
        String stdout = corruptionRun(log, spillDir, "", files -> {
            assertTrue(files.size() >= 4, "8 x 4 MiB under 16m: at least 4 arrays are spilled: " + files);
            for (Path f : files) {
                try {
                    Files.delete(f);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });
        assertFalse(stdout.contains("WRONG"), stdout);
        Matcher err = Pattern.compile("array \\d+ error (memgov: spill file (\\S+) of tensor (\\d+) is missing; its data was not restored)").matcher(stdout);
        List<Map<String, String>> errors = MemgovLog.read(log).all("error");
        int n = 0;
        while (err.find()) {
            n++;
            String message = err.group(1);
            List<Map<String, String>> same = errors.stream().filter(e -> message.equals(e.get("message"))).collect(Collectors.toList());
            assertEquals(1, same.size(), "one error event for " + message + " in " + errors);
            assertEquals(err.group(2), same.get(0).get("file"));
            assertEquals(err.group(3), same.get(0).get("id"));
            assertTrue(same.get(0).get("exception").startsWith("io.memgov.runtime.spill.CorruptSpillException: "), same.get(0).toString());
        }
        assertTrue(n >= 4, "every array whose file went reports it: " + stdout);
        assertEquals(8, n + SpillIT.count(stdout, " value "), stdout);
    }

    @Test
    void aLogFileRenamedByLogrotateIsOpenedAfreshAtItsPath() throws Exception {
        Path log = Forked.newLog("rotate");
        Path rotated = Paths.get(log + ".1");
        Path spillDir = Forked.WORK.resolve("spill-rotate-" + System.nanoTime());
        String stdout = corruptionRun(log, spillDir, ",report.interval=200ms", files -> {
            try {
                assertTrue(Files.exists(log), "the log exists while the JVM runs");
                Files.move(log, rotated); // logrotate without copytruncate
                long deadline = System.currentTimeMillis() + 10_000;
                while (!Files.exists(log) && System.currentTimeMillis() < deadline) {
                    Thread.sleep(50);
                }
                assertTrue(Files.exists(log), "memgov created the log file again within 10 s");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(8, SpillIT.count(stdout, " value "), stdout);
        MemgovLog before = MemgovLog.read(rotated);
        MemgovLog after = MemgovLog.read(log);
        before.one("start");
        assertTrue(before.all("summary").isEmpty(), before.text);
        Map<String, String> reopened = after.one("log-reopened");
        assertEquals(log.toString(), reopened.get("file"));
        assertEquals("the file was deleted or renamed", reopened.get("reason"));
        assertEquals("log-reopened", after.events.get(0).get("event"), "the fresh file starts by saying why: " + after.text);
        Map<String, String> summary = after.one("summary");
        assertTrue(num(summary, "spills") >= 4, summary.toString());
    }

    @Test
    void aLogFileOnAFullDiskIsSaidOnceOnStderrAndTheApplicationRunsOn() throws Exception {
        Path devFull = Paths.get("/dev/full"); // every write fails with ENOSPC: a full disk, no root needed
        assumeTrue(Files.isWritable(devFull), "/dev/full is needed");
        Forked run = Forked.run("log.file=/dev/full,host.limit=1m,report.interval=100ms", List.of(),
                Forked.examplesClassPath(), "io.memgov.examples.LimitWorkload", "djl", "too-big");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("usable again"), run.toString());
        List<String> said = run.stderr.lines().filter(l -> l.contains("cannot write the log file")).collect(Collectors.toList());
        assertEquals(List.of("memgov: cannot write the log file /dev/full: No space left on device; memgov's events are"
                + " lost until it can be written again (governing goes on). Free space on that disk or set"
                + " memgov.log.file to a file on another disk"), said, run.stderr);
    }

    @Test
    void aZeroHostLimitWarnsAtStartNamingTheKeyTheValueAndTheFix() throws Exception {
        Path log = Forked.newLog("zero-limit");
        Forked run = limitRun("host.limit=0", "djl", "too-big", log);
        String expected = "memgov: memgov.host.limit=0 (from agent options) is 0 bytes: every tensor allocation fails at"
                + " once with an OutOfMemoryError (the request alone is larger than the limit), whatever memgov.on-limit"
                + " says. Set memgov.host.limit to the memory tensors may use, e.g. 512m, 4g or 25%, or none for no limit";
        assertTrue(run.stderr.contains(expected + "\n"), run.toString());
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> w = l.one("config-warning");
        assertEquals("memgov.host.limit", w.get("key"));
        assertEquals("0", w.get("value"));
        assertEquals("agent options", w.get("source"));
        assertEquals(expected, w.get("message"));
        l.one("start"); // the agent installs all the same: the limit is what the user asked for
        // and what it said happens: the workload's first tensor is refused
        assertNotEquals(0, run.exitCode, run.toString());
        assertTrue(run.stderr.contains("MemgovOutOfMemoryError: memgov: HOST limit reached: requested 4 bytes"), run.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"djl", "nd4j"})
    void refusalsAreLoggedAtMostOnceASecondWithTheRestCounted(String framework) throws Exception {
        Path log = Forked.newLog("refuse-many-" + framework);
        Forked run = limitRun("host.limit=4200k,on-limit=fail", framework, "refuse-many", log);
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("refused=202\n"), run.toString());
        MemgovLog l = MemgovLog.read(log);
        List<Map<String, String>> fails = l.all("limit").stream().filter(e -> "fail".equals(e.get("action")))
                .collect(Collectors.toList());
        // 201 refusals within about a second, then one more 1.1 s later: 2 events (3 if the burst straddled a second)
        assertTrue(fails.size() >= 2 && fails.size() <= 3, fails.toString());
        long accounted = fails.stream().mapToLong(e -> 1 + num(e, "not.logged")).sum();
        assertEquals(202, accounted, "every refusal is logged or counted in the next one's not.logged: " + fails);
        assertTrue(fails.get(0).get("message").startsWith("memgov: HOST limit reached"), fails.toString());
        assertTrue(l.all("limit").stream().allMatch(e -> "fail".equals(e.get("action"))), "on-limit=fail: only refusals " + l.all("limit"));
        Map<String, String> summary = l.one("summary");
        assertEquals(202, num(summary, "failures"));
        assertEquals(202, num(summary, "limit.hits"));
    }
}
