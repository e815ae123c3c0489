package io.memgov.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Buffer pooling over real DJL: DJL's copies of Java arrays go into pooled direct buffers, reused
 * only once no tensor can point into them. Results must not change, bit for bit.
 */
class PoolIT {
    static final String WORKLOAD = "io.memgov.examples.PoolWorkload";

    static long figure(Forked run, String name) {
        Matcher m = Pattern.compile("\\b" + Pattern.quote(name) + "=(-?\\d+)").matcher(run.stdout);
        assertTrue(m.find(), name + " not printed: " + run);
        return Long.parseLong(m.group(1));
    }

    static String crc(Forked run) {
        Matcher m = Pattern.compile("mixed results=(\\d+) crc=([0-9a-f]+)").matcher(run.stdout);
        assertTrue(m.find(), run.toString());
        return m.group(1) + "/" + m.group(2);
    }

    static Forked governed(Path log, String options, String... args) throws Exception {
        Forked run = Forked.run("log.file=" + log + (options.isEmpty() ? "" : "," + options), List.of(),
                Forked.examplesClassPath(), WORKLOAD, args);
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("done"), run.toString());
        return run;
    }

    static List<String> instrumented(MemgovLog log) {
        List<String> out = new ArrayList<>();
        log.all("instrumented").forEach(e -> out.add(e.get("class")));
        return out;
    }

    @Test
    void aMixedWorkloadIsBitForBitTheSameWithThePoolOnOffAndWithoutTheAgent() throws Exception {
        Forked plain = Forked.run(null, List.of(), Forked.examplesClassPath(), WORKLOAD, "mixed", "60");
        assertEquals(0, plain.exitCode, plain.toString());
        Path onLog = Forked.newLog("pool-on");
        Forked on = governed(onLog, "", "mixed", "60");
        Path offLog = Forked.newLog("pool-off");
        Forked off = governed(offLog, "pool.enabled=false", "mixed", "60");
        assertEquals(crc(plain), crc(on), "pool on: every result must equal the plain run's");
        assertEquals(crc(plain), crc(off), "pool off: every result must equal the plain run's");

        MemgovLog l = MemgovLog.read(onLog);
        assertTrue(instrumented(l).contains("ai.djl.pytorch.engine.PtNDManager"), l.text);
        Map<String, String> s = l.one("summary");
        assertTrue(num(s, "pool.hits") > 0, "buffers were reused: " + s);
        assertTrue(num(s, "pool.misses") > 0, s.toString());
        assertEquals(num(s, "allocations"), num(s, "releases"));
        assertEquals(0, num(s, "live"));
        assertEquals(num(s, "pool.bytes"), num(s, "host.used"), "what HOST holds at exit is the idle pool");
        assertEquals(0, num(s, "host.used.djl"));
        assertTrue(l.all("error").isEmpty(), l.text);

        MemgovLog lOff = MemgovLog.read(offLog);
        assertFalse(instrumented(lOff).contains("ai.djl.pytorch.engine.PtNDManager"), "pool.enabled=false: " + lOff.text);
        Map<String, String> sOff = lOff.one("summary");
        assertEquals(0, num(sOff, "pool.hits"));
        assertEquals(0, num(sOff, "pool.misses"));
        assertEquals(0, num(sOff, "host.used"));
        assertEquals(num(s, "allocations") - num(s, "releases"), num(sOff, "allocations") - num(sOff, "releases"));
    }

    @Test
    void aReusedBufferNeverLeaksItsBytesIntoAnArrayThatMustReadAsZeros() throws Exception {
        Path log = Forked.newLog("pool-zeros");
        Forked run = governed(log, "", "zeros", "20");
        assertEquals(0, figure(run, "nonzero"), run.stdout);
        // per round: create(n), create(n/2+1000), zeros(n), set(n zeros) over n in 16384, 20000, 65536, 262144
        long perFour = 0;
        for (int n : new int[]{16384, 20000, 65536, 262144}) {
            perFour += 3L * n + n / 2 + 1000;
        }
        assertEquals(5 * perFour, figure(run, "checked"));
        Map<String, String> s = MemgovLog.read(log).one("summary");
        assertTrue(num(s, "pool.hits") >= 100, "the zero arrays reused buffers that held other bytes: " + s);
    }

    @Test
    void viewsAndRecreatedArraysThatOutliveTheirBaseNeverSeeTheirMemoryReused() throws Exception {
        // without the pool DJL drops a zero-copy array's buffer at close() (and set() drops the old
        // one) while views still point into it: those views read freed memory once the GC runs
        Path log = Forked.newLog("pool-outlive");
        Forked run = governed(log, "", "outlive", "20");
        assertEquals(20L * (65536 + 1000 + 65536 + 65536), figure(run, "checked"));
        assertEquals(0, figure(run, "wrong"), run.stdout);
        Map<String, String> s = MemgovLog.read(log).one("summary");
        assertTrue(num(s, "pool.hits") >= 100, "later arrays reused released buffers: " + s);
        assertEquals(num(s, "allocations"), num(s, "releases"));
    }

    @Test
    void eightThreadsCreatingAndClosingSeeNoCorruptionAndExactCounts() throws Exception {
        Path log = Forked.newLog("pool-threads");
        Forked run = governed(log, "", "threads", "8", "400");
        assertEquals(3200, figure(run, "creates"));
        assertEquals(0, figure(run, "corrupt"), run.stdout);
        Map<String, String> s = MemgovLog.read(log).one("summary");
        assertEquals(3200, num(s, "allocations"), s.toString());
        assertEquals(3200, num(s, "releases"), s.toString());
        assertEquals(3200, num(s, "pool.hits") + num(s, "pool.misses"), "every create asked the pool once: " + s);
        assertTrue(num(s, "pool.hits") > 2000, s.toString());
        assertEquals(num(s, "pool.bytes"), num(s, "host.used"));
        assertEquals(0, num(s, "live"));
        assertTrue(MemgovLog.read(log).all("error").isEmpty());
    }

    @Test
    void underAHostLimitPooledBytesCountAndAreTrimmedFirstWithTheSameResults() throws Exception {
        Forked plain = Forked.run(null, List.of(), Forked.examplesClassPath(), WORKLOAD, "mixed", "60");
        assertEquals(0, plain.exitCode, plain.toString());
        Path log = Forked.newLog("pool-limit");
        Path spillDir = Forked.WORK.resolve("pool-spill-" + System.nanoTime());
        Forked run = governed(log, "host.limit=28m,disk.dir=" + spillDir, "mixed", "60");
        assertEquals(crc(plain), crc(run));
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> s = l.one("summary");
        assertTrue(num(s, "host.peak") <= 28L << 20, "pooled and live bytes stay under the limit: " + s);
        assertTrue(num(s, "pool.dropped") > 0, "the pool was trimmed: " + s);
        assertTrue(num(s, "pool.hits") > 0, s.toString());
        assertEquals(0, num(s, "failures"));
        assertTrue(l.all("error").isEmpty(), l.text);
    }

    // ---------------------------------------------------------------- ND4J

    static final String ND4J = "io.memgov.examples.Nd4jPoolWorkload";

    static Forked nd4j(Path log, String options, String... args) throws Exception {
        Forked run = Forked.run(log == null ? null : "log.file=" + log + (options.isEmpty() ? "" : "," + options),
                List.of(), Forked.examplesClassPath(), ND4J, args);
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("done"), run.toString());
        return run;
    }

    @Test
    void nd4jMixedWorkloadIsBitForBitTheSameWithThePoolOnOffUnderALimitAndWithoutTheAgent() throws Exception {
        // views, dup, mmul, concat, arrays from Java arrays, zeros, uninitialized; half closed, half left to the GC
        String plain = crc(nd4j(null, "", "mixed", "40"));
        Path onLog = Forked.newLog("nd4j-pool-on");
        assertEquals(plain, crc(nd4j(onLog, "", "mixed", "40")), "pool on");
        assertEquals(plain, crc(nd4j(Forked.newLog("nd4j-pool-off"), "pool.enabled=false", "mixed", "40")), "pool off");
        Path limitLog = Forked.newLog("nd4j-pool-limit");
        assertEquals(plain, crc(nd4j(limitLog, "host.limit=12m,disk.dir=" + Forked.WORK.resolve("np-" + System.nanoTime()),
                "mixed", "40")), "pool on, spilling under a 12m limit");

        Map<String, String> s = MemgovLog.read(onLog).one("summary");
        assertTrue(num(s, "pool.hits") > 50 && num(s, "pool.misses") > 0, s.toString());
        assertTrue(MemgovLog.read(onLog).all("error").isEmpty());
        MemgovLog limited = MemgovLog.read(limitLog);
        Map<String, String> sl = limited.one("summary");
        assertTrue(num(sl, "host.peak") <= 12L << 20, "pooled, spilled and live bytes stay under the limit: " + sl);
        assertTrue(num(sl, "spills") > 0 && num(sl, "pool.hits") > 0, sl.toString());
        assertEquals(0, num(sl, "failures"));
        assertTrue(limited.all("error").isEmpty(), limited.text);
    }

    @Test
    void nd4jArraysThatMustReadAsZerosNeverSeeAReusedBlocksBytes() throws Exception {
        Path log = Forked.newLog("nd4j-pool-zeros");
        Forked run = nd4j(log, "", "zeros", "5");
        // per round and size n: create(n), zeros(n), create(n/2+100)
        long perRound = 0;
        for (int n : new int[]{4096, 5000, 16384, 262144}) {
            perRound += 2L * n + n / 2 + 100;
        }
        assertEquals(5 * perRound, figure(run, "checked"));
        assertEquals(0, figure(run, "nonzero"), run.stdout);
        Map<String, String> s = MemgovLog.read(log).one("summary");
        assertTrue(num(s, "pool.hits") >= 100, "the zero arrays reused blocks that held 7s and -3s: " + s);
    }

    @Test
    void nd4jEightThreadsCreatingAndClosingSeeNoCorruptionAndExactCounts() throws Exception {
        Path log = Forked.newLog("nd4j-pool-threads");
        Forked run = nd4j(log, "", "threads", "8", "150");
        assertEquals(2400, figure(run, "creates"));
        assertEquals(0, figure(run, "corrupt"), run.stdout);
        assertEquals(0, figure(run, "errors"), run.stdout);
        Map<String, String> s = MemgovLog.read(log).one("summary");
        assertEquals(2400, num(s, "pool.hits") + num(s, "pool.misses"), "every pooled create asked the pool once: " + s);
        assertTrue(num(s, "pool.hits") > 2000, s.toString());
        assertEquals(num(s, "pool.bytes") + num(s, "host.used.nd4j"), num(s, "host.used"), "HOST holds the idle pool and live arrays");
        assertTrue(MemgovLog.read(log).all("error").isEmpty());
    }
}
