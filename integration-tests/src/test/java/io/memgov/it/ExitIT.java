package io.memgov.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Nothing lost at exit: the application's own shutdown hook reads every spilled tensor (memgov removes
 * the spill files only after the application's hooks end), the log still ends with the summary, and
 * nothing of memgov is left in the temp directory. What a JVM killed with -9 left is removed at the
 * next start.
 */
class ExitIT {
    static final String WORKLOAD = "io.memgov.examples.ExitHookWorkload";

    /** The hook's lines: "array I sum=..." and "checksum=...". */
    static List<String> hookLines(String stdout) {
        List<String> out = new ArrayList<>();
        for (String l : stdout.split("\n")) {
            if (l.startsWith("array ") || l.startsWith("checksum=")) {
                out.add(l.trim());
            }
        }
        return out;
    }

    static List<String> memgovEntries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("memgov-")).sorted()
                    .collect(Collectors.toList());
        }
    }

    static List<String> command(String agentOptions, Path tmpdir, String mode) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Forked.java());
        if (agentOptions != null) {
            cmd.add("-javaagent:" + Forked.AGENT + "=" + agentOptions);
        }
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-Xshare:auto");
        if (tmpdir != null) {
            cmd.add("-Djava.io.tmpdir=" + tmpdir);
        }
        cmd.add("-cp");
        cmd.add(Forked.examplesClassPath());
        cmd.add(WORKLOAD);
        cmd.add(mode);
        return cmd;
    }

    /** Runs the workload; in sigterm mode waits for "ready" and sends SIGTERM ({@link Process#destroy}). */
    static Forked run(String agentOptions, Path tmpdir, String mode) throws IOException, InterruptedException {
        Files.createDirectories(Forked.WORK);
        Path out = Files.createTempFile(Forked.WORK, "exit-stdout-", ".txt");
        Path err = Files.createTempFile(Forked.WORK, "exit-stderr-", ".txt");
        ProcessBuilder pb = new ProcessBuilder(command(agentOptions, tmpdir, mode)).directory(Forked.WORK.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("MEMGOV_"));
        Process p = pb.start();
        try {
            if ("sigterm".equals(mode)) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (!Files.readString(out, StandardCharsets.UTF_8).contains("ready\n")) {
                    assertTrue(p.isAlive(), "the workload ended before it was ready: " + Files.readString(err));
                    assertTrue(System.nanoTime() < deadline, "the workload never got ready");
                    Thread.sleep(50);
                }
                p.destroy(); // SIGTERM
            }
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out");
        } finally {
            p.destroyForcibly();
        }
        return Forked.of(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    static void theApplicationsHookReadsEverySpilledArray(String mode, int expectedExit) throws Exception {
        Forked plain = run(null, null, mode);
        assertEquals(expectedExit, plain.exitCode, plain.toString());
        List<String> expected = hookLines(plain.stdout);
        assertEquals(33, expected.size(), plain.toString());
        assertTrue(expected.stream().noneMatch(l -> l.contains("failed")), plain.toString());

        Path tmp = Files.createDirectories(Forked.WORK.resolve("exit-" + mode + "-tmp-" + System.nanoTime()));
        Path log = Forked.newLog("exit-" + mode);
        Forked governed = run("log.file=" + log + ",host.limit=8m", tmp, mode);
        assertEquals(expectedExit, governed.exitCode, governed.toString());
        assertEquals(expected, hookLines(governed.stdout),
                "the application's shutdown hook reads all 32 arrays, as without the agent");

        MemgovLog l = MemgovLog.read(log);
        Map<String, String> start = l.one("start");
        assertTrue(start.get("exit.hook").startsWith("slot-"), start.toString());
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "spills") >= 16, "32 arrays of 1 MiB under 8 MiB: most were spilled: " + summary);
        assertTrue(num(summary, "restores") >= 16, "the hook restored them: " + summary);
        assertEquals(0, num(summary, "failures"), summary.toString());
        assertEquals("summary", l.events.get(l.events.size() - 1).get("event"), "the summary is the last event: " + l.text);
        assertTrue(l.all("error").isEmpty() && l.all("warn").isEmpty(), l.text);
        assertFalse(Files.exists(tmp.resolve("memgov-" + start.get("pid"))), "the spill directory is removed at exit");
        assertEquals(List.of(), memgovEntries(tmp), "nothing of memgov is left in the temp directory");
    }

    @Test
    void onSystemExitTheApplicationsShutdownHookStillReadsItsSpilledArrays() throws Exception {
        theApplicationsHookReadsEverySpilledArray("exit", 0);
    }

    @Test
    void onSigtermTheApplicationsShutdownHookStillReadsItsSpilledArrays() throws Exception {
        theApplicationsHookReadsEverySpilledArray("sigterm", 143);
    }

    @Test
    void whatAKilledJvmLeftIsRemovedAtTheNextStartAndALiveJvmsIsKept() throws Exception {
        Path tmp = Files.createDirectories(Forked.WORK.resolve("stale-tmp-" + System.nanoTime()));
        Process done = new ProcessBuilder("true").start();
        assertEquals(0, done.waitFor());
        long dead = done.pid();
        long live = ProcessHandle.current().pid(); // this test's JVM: alive while the workload runs
        Path deadDir = Files.createDirectory(tmp.resolve("memgov-" + dead));
        Files.write(deadDir.resolve("spill-3-0.bin"), new byte[4096]);
        Files.write(deadDir.resolve("spill-4-1.bin"), new byte[4096]);
        Path deadJar = Files.write(tmp.resolve("memgov-bootstrap-" + dead + "-123456.jar"), new byte[1000]);
        Path liveDir = Files.createDirectory(tmp.resolve("memgov-" + live));
        Files.write(liveDir.resolve("spill-5-0.bin"), new byte[4096]);
        Path liveJar = Files.write(tmp.resolve("memgov-bootstrap-" + live + "-654321.jar"), new byte[1000]);
        Path foreign = Files.createDirectory(tmp.resolve("memgov-" + dead + "0"));
        Files.write(foreign.resolve("notes.txt"), new byte[1]);

        Path log = Forked.newLog("stale");
        Forked governed = run("log.file=" + log, tmp, "exit");
        assertEquals(0, governed.exitCode, governed.toString());

        assertFalse(Files.exists(deadDir), "a dead pid's spill directory is removed");
        assertFalse(Files.exists(deadJar), "a dead pid's bootstrap jar is removed");
        assertTrue(Files.exists(liveDir.resolve("spill-5-0.bin")), "a live pid's spill directory is kept");
        assertTrue(Files.exists(liveJar), "a live pid's bootstrap jar is kept");
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> cleanup = l.one("cleanup");
        assertEquals(1, num(cleanup, "removed.dirs"), cleanup.toString());
        assertEquals(2, num(cleanup, "removed.files"), cleanup.toString());
        assertEquals(1, num(cleanup, "removed.jars"), cleanup.toString());
        assertEquals(2 * 4096 + 1000, num(cleanup, "removed.bytes"), cleanup.toString());
        // memgov-<dead pid>0 is another pid's name: kept unless that pid is dead too, and then kept for its content
        assertTrue(Files.exists(foreign.resolve("notes.txt")));
        assertEquals(Stream.of("memgov-" + dead + "0", "memgov-" + live, "memgov-bootstrap-" + live + "-654321.jar")
                        .sorted().collect(Collectors.toList()), memgovEntries(tmp), "this run's own spill directory and bootstrap jar are gone too");
    }
}
