package io.memgov.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Spill to disk over real DJL: a working set of 4x the HOST limit runs to the same result, bit for bit. */
class SpillIT {
    static String digest(Forked run) {
        Matcher m = Pattern.compile("digest=([0-9a-f]+)").matcher(run.stdout);
        assertTrue(m.find(), run.toString());
        return m.group(1);
    }

    /**
     * Runs {@code workload} (64 arrays of 4 MiB, 400 rounds) without the agent and under
     * {@code host.limit=64m}: the same digest, host.peak within the limit, no failure or error, the
     * spill directory gone at exit. Returns the governed run's log.
     */
    static MemgovLog sameDigestUnderALimit(String workload, String name) throws Exception {
        Forked plain = Forked.run(null, List.of(), Forked.examplesClassPath(), workload, "64", "4", "400");
        assertEquals(0, plain.exitCode, plain.toString());
        Path log = Forked.newLog(name);
        Path spillDir = Forked.WORK.resolve(name + "-" + System.nanoTime());
        Forked governed = Forked.run("log.file=" + log + ",host.limit=64m,disk.dir=" + spillDir, List.of(),
                Forked.examplesClassPath(), workload, "64", "4", "400");
        assertEquals(0, governed.exitCode, governed.toString());
        assertEquals(digest(plain), digest(governed), "every result must equal the ungoverned run's");
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "host.peak") <= 64L << 20, "host.peak over the limit: " + summary);
        assertEquals(0, num(summary, "failures"));
        assertTrue(l.all("error").isEmpty(), l.text);
        assertFalse(Files.exists(spillDir), "the spill directory is removed at exit");
        // both kinds of spill happened: of arrays changed since their restore (written again) and of
        // unchanged ones (their kept file reused); the digest above says both kept every bit
        assertTrue(num(summary, "spills.clean") > 0 && num(summary, "spills.clean") < num(summary, "spills"), summary.toString());
        return l;
    }

    @Test
    void aWorkingSetOfFourTimesTheLimitGivesTheSameResultsBitForBit() throws Exception {
        MemgovLog l = sameDigestUnderALimit("io.memgov.examples.SpillWorkload", "spill");
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "spills") > 0 && num(summary, "restores") > 0, summary.toString());
        assertEquals(num(summary, "spills") * (4L << 20), num(summary, "spill.bytes"), "every spill was a 4 MiB array");
        assertEquals(0, num(summary, "disk.used"), "spill files of closed arrays are deleted");
        assertTrue(num(summary, "disk.peak") > 0);
        assertTrue(l.all("limit").size() >= 1, l.text);
        // spill mode sizes by the learned layout too (a spill leaves the shape on the array: below)
        Map<String, String> sizing = l.one("sizing");
        assertEquals("layout", sizing.get("method"), sizing.toString());
    }

    @Test
    void aSpilledArrayAnswersItsShapeAndTypeWithoutARestore() throws Exception {
        Forked plain = Forked.run(null, List.of(), Forked.examplesClassPath(), "io.memgov.examples.SpilledShapes");
        assertEquals(0, plain.exitCode, plain.toString());
        Path log = Forked.newLog("spilled-shapes");
        Forked governed = Forked.run("log.file=" + log + ",host.limit=16m", List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.SpilledShapes");
        assertEquals(0, governed.exitCode, governed.toString());
        assertTrue(plain.stdout.contains("array 15 shape=(64, 64, 128) type=int64"), plain.toString());
        assertEquals(plain.stdout, governed.stdout, "the same shapes and types as without the agent");
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "spills") >= 12, "16 arrays of 4 MiB under a 16 MiB limit: " + summary);
        assertEquals(0, num(summary, "restores"), "no data was read, so nothing was restored: " + summary);
        assertTrue(l.all("error").isEmpty(), l.text);
    }

    @Test
    void anNd4jWorkingSetOfFourTimesTheLimitGivesTheSameResultsBitForBit() throws Exception {
        // ops, mmul (BLAS), getFloat/putScalar, in-place ops, dup, and views kept and used after their
        // parents were spilled and restored
        Map<String, String> summary = sameDigestUnderALimit("io.memgov.examples.Nd4jSpillWorkload", "nd4j-spill").one("summary");
        assertTrue(num(summary, "spills") >= 64 && num(summary, "restores") >= 64, summary.toString());
        assertTrue(num(summary, "spill.bytes") >= 64 * (4L << 20), summary.toString());
        assertTrue(num(summary, "host.peak.nd4j") > 32L << 20, summary.toString());
    }

    @Test
    void dl4jTrainingUnderALimitThatSpillsItsParametersGivesIdenticalScores() throws Exception {
        // DL4J's parameters are views of one flattened buffer; a limit well under what it holds spills
        // them (and their gradients) between uses
        Path log = Forked.newLog("dl4j-spill");
        Forked.assertSameEpochsWithAndWithoutAgent("io.memgov.examples.Dl4jTraining", log,
                "host.limit=400k,disk.dir=" + Forked.WORK.resolve("dl4j-spill-" + System.nanoTime()), 3, "3", "30", "128");
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "spills") > 0 && num(summary, "restores") > 0, summary.toString());
        assertTrue(num(summary, "host.peak") <= 400L << 10, summary.toString());
        assertEquals(0, num(summary, "failures"));
        assertTrue(l.all("error").isEmpty(), l.text);
    }

    /**
     * Runs a stress workload (8 threads) under {@code host.limit=24m}: it must print "stress ok",
     * spill, and keep host.peak within the limit. Returns the log.
     */
    static MemgovLog stressUnderATightLimit(String workload, String name, String iterations) throws Exception {
        Path log = Forked.newLog(name);
        Forked run = Forked.run("log.file=" + log + ",host.limit=24m", List.of(), Forked.examplesClassPath(),
                workload, "8", iterations);
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("stress ok"), run.toString());
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "spills") > 0, summary.toString());
        assertTrue(num(summary, "host.peak") <= 24L << 20, summary.toString());
        return l;
    }

    @Test
    void eightThreadsSharingAndMutatingArraysUnderATightLimitSeeNoWrongValue() throws Exception {
        Map<String, String> summary = stressUnderATightLimit("io.memgov.examples.SpillStress", "stress", "200").one("summary");
        // every tensor byte was released; what HOST still counts is idle pooled memory (restores
        // take pooled blocks, and closing their arrays gives the blocks back)
        assertEquals(0, num(summary, "host.used.djl"), summary.toString());
        assertEquals(num(summary, "pool.bytes"), num(summary, "host.used"), summary.toString());
        assertEquals(0, num(summary, "live"), summary.toString());
    }

    @Test
    void eightThreadsSharingAndMutatingNd4jArraysUnderATightLimitSeeNoWrongValue() throws Exception {
        MemgovLog l = stressUnderATightLimit("io.memgov.examples.Nd4jSpillStress", "nd4j-stress", "100");
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "restores") > 0, summary.toString());
        assertEquals(0, num(summary, "failures"));
        assertTrue(l.all("error").isEmpty(), l.text);
    }

    @Test
    void aCorruptSpillFileIsAClearErrorNamingTheTensorAndTheFileNeverWrongData() throws Exception {
        Path log = Forked.newLog("corrupt");
        Path spillDir = Forked.WORK.resolve("spill-corrupt-" + System.nanoTime());
        Path go = Forked.WORK.resolve("go-" + System.nanoTime());
        Path out = Files.createTempFile(Forked.WORK, "corrupt-", ".out");
        Process p = new ProcessBuilder(Forked.java(), "-javaagent:" + Forked.AGENT + "=log.file=" + log
                + ",host.limit=16m,disk.dir=" + spillDir, "-Dai.djl.offline=true", "-cp", Forked.examplesClassPath(),
                "io.memgov.examples.SpillCorruption", go.toString())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            long deadline = System.currentTimeMillis() + 120_000;
            while (!Files.readString(out).contains("waiting") && System.currentTimeMillis() < deadline && p.isAlive()) {
                Thread.sleep(50);
            }
            List<Path> files;
            try (var list = Files.list(spillDir)) {
                files = list.collect(java.util.stream.Collectors.toList());
            }
            assertTrue(files.size() >= 4, "8 x 4 MiB under 16m: at least 4 arrays are spilled: " + files);
            for (Path f : files) { // flip one byte in the middle of each file's data
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f,
                        java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
                    long at = ch.size() / 2;
                    ch.read(b, at);
                    b.put(0, (byte) ~b.get(0)).rewind();
                    ch.write(b, at);
                }
            }
            Files.createFile(go);
            assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        String stdout = Files.readString(out);
        assertEquals(0, p.exitValue(), stdout);
        assertFalse(stdout.contains("WRONG"), "a corrupt spill file must never give wrong data: " + stdout);
        Matcher err = Pattern.compile("array \\d+ error (memgov: spill file (\\S+) of tensor (\\d+) is corrupt.*)").matcher(stdout);
        int errors = 0;
        List<java.util.Map<String, String>> logged = MemgovLog.read(log).all("error");
        while (err.find()) {
            errors++;
            assertTrue(err.group(1).contains("its data was not restored"), err.group(1));
            assertTrue(err.group(2).startsWith(spillDir.toString()), err.group(2));
            // the log says it too: one error event per damaged file, with the message the application got
            String message = err.group(1);
            List<java.util.Map<String, String>> same = logged.stream().filter(e -> message.equals(e.get("message")))
                    .collect(java.util.stream.Collectors.toList());
            assertEquals(1, same.size(), "one error event for " + message + " in " + logged);
            assertEquals(err.group(2), same.get(0).get("file"));
            assertEquals(err.group(3), same.get(0).get("id"));
            assertTrue(same.get(0).get("exception").startsWith("io.memgov.runtime.spill.CorruptSpillException: "), same.get(0).toString());
        }
        assertTrue(errors >= 4, "every damaged array reports its file: " + stdout);
        assertEquals(8, errors + count(stdout, " value "), stdout);
    }

    static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
