package io.memgov.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real agent over real ND4J (native CPU) in forked JVMs. The oracle is libnd4j's own counter of
 * detached buffer bytes ({@code Nd4jCpu.Environment.getDeviceCounter(0)}), printed by the workload.
 */
class Nd4jAccountingIT {
    /**
     * These tests check memgov's count against libnd4j's own counter, which sees only the memory
     * libnd4j allocates itself: with the pool on, buffers live in memgov's pooled blocks instead.
     */
    static final String NO_POOL = ",pool.enabled=false";

    static final Pattern WORKSPACE = Pattern.compile("workspace label=(\\S+) bytes=(\\d+)");
    static final Pattern MIXED = Pattern.compile("mixed label=(\\S+) djl=(\\d+) nd4j=(\\d+)");

    /** ND4J's detached buffers in the governor's report: nd4j bytes less its workspace blocks. */
    static long detached(Map<String, String> report) {
        return num(report, "host.used.nd4j") - num(report, "host.used.nd4j.workspace");
    }

    static void assertSequences(Forked run, MemgovLog log) {
        Map<String, Long> counter = DjlAccountingIT.checkpoints(run.stdout);
        assertEquals(10, counter.size(), run.toString());
        for (Map.Entry<String, Long> cp : counter.entrySet()) {
            Map<String, String> report = log.report(cp.getKey());
            assertEquals(cp.getValue().longValue(), detached(report), "detached ND4J bytes at " + cp.getKey()
                    + " must equal libnd4j's counter");
            assertEquals(num(report, "host.used.nd4j"), num(report, "host.used"), "only ND4J holds memory here");
            assertEquals(0, num(report, "host.used.djl"));
        }
        Map<String, Long> workspace = new LinkedHashMap<>();
        Matcher m = WORKSPACE.matcher(run.stdout);
        while (m.find()) {
            workspace.put(m.group(1), Long.parseLong(m.group(2)));
        }
        assertEquals(3, workspace.size(), run.toString());
        for (String label : new String[]{"workspace-open", "workspace-closed"}) {
            long block = num(log.report(label), "host.used.nd4j.workspace");
            // the block is malloc'd once with the workspace's size and a little alignment slack
            assertTrue(block >= workspace.get(label) && block <= workspace.get(label) + 65536,
                    label + ": workspace bytes " + block + " for a workspace of " + workspace.get(label));
        }
        assertEquals(0, num(log.report("workspace-destroyed"), "host.used.nd4j.workspace"), "destroy frees the block");
        // the ops in the middle raised the peak to at least what was held at "ops"
        assertTrue(num(log.report("ops"), "host.peak") >= counter.get("ops"));
    }

    @Test
    void everyCheckpointMatchesLibnd4jsOwnCounter() throws Exception {
        Path logFile = Forked.newLog("nd4j-sequences");
        Forked run = Forked.run("log.file=" + logFile + NO_POOL, List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.Nd4jSequences");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("done"), run.toString());
        MemgovLog log = MemgovLog.read(logFile);
        assertSequences(run, log);
        List<String> instrumented = new ArrayList<>();
        log.all("instrumented").forEach(e -> instrumented.add(e.get("class")));
        assertTrue(instrumented.containsAll(List.of("org.nd4j.nativeblas.OpaqueDataBuffer",
                "org.nd4j.linalg.cpu.nativecpu.buffer.CpuDeallocator",
                "org.nd4j.linalg.cpu.nativecpu.workspace.CpuWorkspace",
                "org.nd4j.linalg.cpu.nativecpu.CpuMemoryManager")), instrumented.toString());
        Map<String, String> summary = log.one("summary");
        Matcher end = Pattern.compile("nd4j.base=(\\d+) nd4j.end=(\\d+)").matcher(run.stdout);
        assertTrue(end.find(), run.stdout);
        // back to what libnd4j itself still holds (constants and scalars ND4J keeps for good)
        assertEquals(Long.parseLong(end.group(2)), num(summary, "host.used.nd4j"));
        assertTrue(num(summary, "host.used.nd4j") - Long.parseLong(end.group(1)) <= 64, summary.toString());
        assertEquals(0, num(summary, "host.used.nd4j.workspace"));
        assertTrue(log.all("error").isEmpty(), log.text);
    }

    @Test
    void dl4jTrainingGivesIdenticalScoresAndPlausibleFigures() throws Exception {
        Path logFile = Forked.newLog("dl4j");
        Forked.assertSameEpochsWithAndWithoutAgent("io.memgov.examples.Dl4jTraining", logFile, 3, "3", "30", "128");

        MemgovLog log = MemgovLog.read(logFile);
        long params = 4L * (64 * 128 + 128 + 128 * 128 + 128 + 128 + 1);
        for (int e = 0; e < 3; e++) {
            Map<String, String> r = log.report("epoch-" + e);
            long used = num(r, "host.used.nd4j");
            // parameters and their gradients at least; DL4J's workspaces hold the activations
            assertTrue(used >= 2 * params, "epoch-" + e + " nd4j bytes " + used + " < 2 x parameters " + params);
            assertTrue(used < 32L << 20, "epoch-" + e + " nd4j bytes " + used);
            assertTrue(num(r, "host.used.nd4j.workspace") > 0, "DL4J's default workspace mode uses workspaces: " + r);
        }
        Map<String, String> summary = log.one("summary");
        assertTrue(num(summary, "host.peak") >= num(log.report("epoch-2"), "host.used"));
        assertEquals(0, num(summary, "host.used.djl"));
    }

    @Test
    void djlAndNd4jInOneJvmShareOneGovernor() throws Exception {
        Path logFile = Forked.newLog("mixed");
        Forked run = Forked.run("log.file=" + logFile + NO_POOL, List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.MixedWorkload");
        assertEquals(0, run.exitCode, run.toString());
        MemgovLog log = MemgovLog.read(logFile);
        assertEquals("djl,nd4j", log.one("start").get("bridges"));
        Matcher m = MIXED.matcher(run.stdout);
        int n = 0;
        while (m.find()) {
            n++;
            Map<String, String> r = log.report(m.group(1));
            assertEquals(Long.parseLong(m.group(2)), num(r, "host.used.djl"), "djl at " + m.group(1));
            assertEquals(Long.parseLong(m.group(3)), detached(r), "nd4j at " + m.group(1));
            assertEquals(num(r, "host.used.djl") + num(r, "host.used.nd4j"), num(r, "host.used"), "totals add up");
        }
        assertEquals(4, n, run.toString());
        assertTrue(num(log.report("ops"), "host.used.djl") > 0 && num(log.report("ops"), "host.used.nd4j") > 0);
    }

    @Test
    void nd4jInAChildClassLoaderIsGovernedToo() throws Exception {
        String launcherOnly = Forked.launcherOnlyClassPath("launcher-nd4j");
        Path logFile = Forked.newLog("nd4j-child");
        Forked run = Forked.run("log.file=" + logFile + NO_POOL, List.of(), launcherOnly,
                "io.memgov.examples.ChildLoaderLauncher", Forked.cp(Forked.EXAMPLES, Forked.EXAMPLES_LIB),
                "io.memgov.examples.Nd4jSequences");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("loaded io.memgov.examples.Nd4jSequences in app"), run.toString());
        MemgovLog log = MemgovLog.read(logFile);
        assertEquals(2, log.all("bridge").size(), "neither framework is on the system class path: " + log.text);
        assertSequences(run, log);
    }
}
