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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real agent over real DJL (PyTorch CPU) in forked JVMs: the log's bytes are the program's bytes. */
class DjlAccountingIT {
    static final Pattern CHECKPOINT = Pattern.compile("checkpoint label=(\\S+) expected\\.host\\.used=(-?\\d+)");
    static final String[] SUMMARY_FIELDS = {"host.used", "host.peak", "host.limit", "device.used", "device.peak",
            "disk.used", "disk.peak", "allocations", "releases", "spills", "restores", "spill.bytes",
            "restore.bytes", "pool.hits", "pool.misses", "failures"};

    static Map<String, Long> checkpoints(String stdout) {
        Map<String, Long> m = new LinkedHashMap<>();
        Matcher x = CHECKPOINT.matcher(stdout);
        while (x.find()) {
            m.put(x.group(1), Long.parseLong(x.group(2)));
        }
        return m;
    }

    /** At every checkpoint: host.used is what the program holds; host.peak the most it held so far. */
    static void assertCheckpoints(Forked run, MemgovLog log) {
        Map<String, Long> expected = checkpoints(run.stdout);
        assertEquals(16, expected.size(), run.toString());
        long peak = 0;
        for (Map.Entry<String, Long> cp : expected.entrySet()) {
            Map<String, String> report = log.report(cp.getKey());
            peak = Math.max(peak, cp.getValue());
            assertEquals(cp.getValue().longValue(), num(report, "host.used"), "host.used at " + cp.getKey());
            assertEquals(peak, num(report, "host.peak"), "host.peak at " + cp.getKey());
            assertEquals(0, num(report, "device.used"), "device.used at " + cp.getKey());
        }
    }

    @Test
    void knownSequencesAreCountedExactlyAtEveryCheckpoint() throws Exception {
        Path logFile = Forked.newLog("sequences");
        Forked run = Forked.run("log.file=" + logFile, List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.DjlSequences");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("done"), run.toString());
        MemgovLog log = MemgovLog.read(logFile);

        Map<String, String> start = log.one("start");
        assertEquals("djl,nd4j", start.get("frameworks"));
        assertEquals("-1", start.get("host.limit"));
        assertTrue(Long.parseLong(start.get("pid")) > 0);
        assertTrue(Long.parseLong(start.get("startup.ms")) >= 0);
        List<String> instrumented = new ArrayList<>();
        for (Map<String, String> e : log.all("instrumented")) {
            assertEquals("djl", e.get("framework"));
            instrumented.add(e.get("class"));
        }
        assertTrue(instrumented.contains("ai.djl.pytorch.engine.PtNDArray"), instrumented.toString());
        assertTrue(instrumented.contains("ai.djl.pytorch.jni.JniUtils"), instrumented.toString());

        assertCheckpoints(run, log);
        // sized by reading libtorch's TensorImpl (learned at the first tensor), the counts above exact
        Map<String, String> sizing = log.one("sizing");
        assertEquals("djl", sizing.get("framework"));
        assertEquals("layout", sizing.get("method"), sizing.toString());
        assertEquals(8, num(sizing, "types"));

        Map<String, String> summary = log.one("summary");
        for (String f : SUMMARY_FIELDS) {
            assertTrue(summary.containsKey(f), "summary lacks " + f + ": " + summary);
        }
        assertEquals(0, num(summary, "host.used"));
        assertEquals(91548, num(summary, "host.peak"));
        assertEquals(-1, num(summary, "host.limit"));
        assertEquals(0, num(summary, "device.used"));
        assertEquals(0, num(summary, "device.peak"));
        assertEquals(0, num(summary, "disk.used"));
        assertEquals(0, num(summary, "disk.peak"));
        // 22 storages: 5 created, 2 op results, 2 for the copying index, 3 in the sub-manager, 2 in the
        // scope, 8 of the element types
        assertEquals(22, num(summary, "allocations"));
        assertEquals(22, num(summary, "releases"));
        for (String f : new String[]{"spills", "restores", "spill.bytes", "restore.bytes", "pool.hits", "pool.misses", "failures"}) {
            assertEquals(0, num(summary, f), f);
        }
        assertTrue(log.all("error").isEmpty(), log.text);
    }

    @Test
    void trainingGivesIdenticalLossesAndPlausibleFigures() throws Exception {
        Path logFile = Forked.newLog("mlp");
        Forked.assertSameEpochsWithAndWithoutAgent("io.memgov.examples.MlpTraining", logFile, 3, "3", "40", "128");

        MemgovLog log = MemgovLog.read(logFile);
        // parameters of the MLP (64->128->128->1), float32: what the model holds between epochs at least
        long params = 4L * (64 * 128 + 128 + 128 * 128 + 128 + 128 + 1);
        long firstEpoch = num(log.report("epoch-0"), "host.used");
        assertTrue(firstEpoch >= params, "epoch-0 host.used " + firstEpoch + " < parameters " + params);
        assertTrue(firstEpoch <= 4 * params, "epoch-0 host.used " + firstEpoch + " implausibly high");
        // nothing accumulates from epoch to epoch: the loop closes what it creates
        assertEquals(firstEpoch, num(log.report("epoch-1"), "host.used"));
        assertEquals(firstEpoch, num(log.report("epoch-2"), "host.used"));
        Map<String, String> summary = log.one("summary");
        long peak = num(summary, "host.peak");
        assertTrue(peak > firstEpoch && peak < 64L << 20, "host.peak " + peak);
        // the model and trainer are closed at the end: nothing left
        assertEquals(0, num(summary, "host.used"));
        assertEquals(num(summary, "allocations"), num(summary, "releases"));
    }

    @Test
    void djlInAChildClassLoaderIsGovernedToo() throws Exception {
        // the launcher alone on the class path; DJL and the workload only in a child URLClassLoader
        String launcherOnly = Forked.launcherOnlyClassPath("launcher");
        Path logFile = Forked.newLog("child");
        Forked run = Forked.run("log.file=" + logFile, List.of(), launcherOnly,
                "io.memgov.examples.ChildLoaderLauncher", Forked.cp(Forked.EXAMPLES, Forked.EXAMPLES_LIB),
                "io.memgov.examples.DjlSequences");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("loaded io.memgov.examples.DjlSequences in app"), run.toString());
        MemgovLog log = MemgovLog.read(logFile);
        Map<String, String> waiting = log.all("bridge").stream().filter(e -> "djl".equals(e.get("framework")))
                .findFirst().orElseThrow(() -> new AssertionError("no bridge event for djl: " + log.text));
        assertEquals("waiting", waiting.get("status"));
        assertCheckpoints(run, log);
        Map<String, String> summary = log.one("summary");
        assertEquals(0, num(summary, "host.used"));
        assertEquals(22, num(summary, "allocations"));
        assertEquals("layout", log.one("sizing").get("method"), "DJL in a child loader is sized the same way");
        assertFalse(run.stderr.contains("NoClassDefFoundError"), run.stderr);
    }
}
