package io.memgov.it;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Over a limit with on-limit=fail and wait, as users see it, over real DJL and ND4J. */
class LimitsIT {
    static Forked limitRun(String options, String framework, String mode, Path log) throws Exception {
        Forked run = Forked.run("log.file=" + log + "," + options, List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.LimitWorkload", framework, mode);
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("done"), run.toString());
        return run;
    }

    static String refusal(Forked run) {
        Matcher m = Pattern.compile("refused(?: after ms=\\d+)?: (.*)").matcher(run.stdout);
        assertTrue(m.find(), "expected a refusal: " + run);
        return m.group(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"djl", "nd4j"})
    void failRefusesTheFirstArrayOverTheLimitAndTheJvmGoesOn(String framework) throws Exception {
        Path log = Forked.newLog("fail-" + framework);
        // 8 MiB for the arrays and 64 KiB of slack for what the framework allocates for itself
        Forked run = limitRun("host.limit=8256k,on-limit=fail", framework, "fill", log);
        assertTrue(run.stdout.contains("fitted=8\n"), run.toString());
        assertEquals("memgov: HOST limit reached: requested 1048576 bytes (1 MiB), HOST holds 8388608 bytes"
                + " (8 MiB) of its limit of 8454144 bytes (8.06 MiB); on-limit=fail. Raise memgov.host.limit,"
                + " close arrays that are no longer needed, or set memgov.on-limit=spill or wait", refusal(run));
        assertTrue(run.stdout.contains("usable again"), run.toString());
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> limit = l.all("limit").stream().filter(e -> "fail".equals(e.get("action")))
                .findFirst().orElseThrow(() -> new AssertionError(l.text));
        assertEquals("host", limit.get("tier"));
        assertEquals(1048576, num(limit, "requested"));
        assertEquals(8388608, num(limit, "used"));
        assertEquals(8454144, num(limit, "limit"));
        Map<String, String> summary = l.one("summary");
        assertEquals(1, num(summary, "failures"));
        assertTrue(num(summary, "host.peak") <= 8454144, summary.toString());
        // every array was closed: what is left is at most the framework's own small buffers
        assertTrue(num(summary, "host.used." + framework) < 65536, summary.toString());
    }

    /**
     * An array refused is never allocated: its bytes are admitted before the framework allocates
     * them (DJL's factories, {@code zeros} here, included: counted once libtorch had made the tensor,
     * a refused 256 MiB of zeros raised peak RSS by 257 MiB before it was freed).
     */
    @ParameterizedTest
    @ValueSource(strings = {"djl", "nd4j"})
    void anArrayRefusedIsNeverAllocated(String framework) throws Exception {
        Path log = Forked.newLog("huge-" + framework);
        Forked run = limitRun("host.limit=16m", framework, "huge", log);
        assertTrue(refusal(run).startsWith("memgov: HOST limit reached: requested 268435456 bytes (256 MiB)"), run.toString());
        // VmHWM read twice can come out a few hundred KiB lower the second time (the kernel's RSS
        // counters are per thread and folded in lazily): a growth under 0 is noise, not an error
        Matcher m = Pattern.compile("hwm.growth.kb=(-?\\d+)").matcher(run.stdout);
        assertTrue(m.find(), run.toString());
        long grewKb = Long.parseLong(m.group(1));
        assertTrue(grewKb < 16 << 10, framework + ": peak RSS grew by " + (grewKb >> 10) + " MiB while 256 MiB were refused");
        assertTrue(run.stdout.contains("usable again"), run.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"djl", "nd4j"})
    void aRequestLargerThanTheLimitIsAClearErrorAndTheJvmStaysUsable(String framework) throws Exception {
        Path log = Forked.newLog("too-big-" + framework);
        Forked run = limitRun("host.limit=1m", framework, "too-big", log);
        String msg = refusal(run);
        assertTrue(msg.startsWith("memgov: HOST limit reached: requested 2097152 bytes (2 MiB)"), msg);
        assertTrue(msg.contains("of its limit of 1048576 bytes (1 MiB); on-limit=spill: the request alone is larger than the limit"), msg);
        assertTrue(run.stdout.contains("usable again"), run.toString());
        assertEquals(1, num(MemgovLog.read(log).one("summary"), "failures"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"djl", "nd4j"})
    void waitBlocksUntilAnotherThreadReleases(String framework) throws Exception {
        Path log = Forked.newLog("wait-" + framework);
        Forked run = limitRun("host.limit=4200k,on-limit=wait,wait.timeout=20s", framework, "wait-release", log);
        Matcher m = Pattern.compile("waited.ms=(\\d+)").matcher(run.stdout);
        assertTrue(m.find(), run.toString());
        long waited = Long.parseLong(m.group(1));
        // the holder releases after 300 ms: the allocation waited for it, not for the timeout
        assertTrue(waited >= 250 && waited < 10_000, "waited " + waited + " ms");
        Map<String, String> summary = MemgovLog.read(log).one("summary");
        assertEquals(0, num(summary, "failures"));
        assertTrue(num(summary, "host.peak") <= 4200 * 1024, summary.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"djl", "nd4j"})
    void waitFailsAfterTheTimeoutWhenNothingIsReleased(String framework) throws Exception {
        Path log = Forked.newLog("wait-timeout-" + framework);
        Forked run = limitRun("host.limit=4200k,on-limit=wait,wait.timeout=200ms", framework, "wait-timeout", log);
        String msg = refusal(run);
        assertTrue(msg.contains("on-limit=wait: nothing was released within memgov.wait.timeout=200ms"), msg);
        Matcher m = Pattern.compile("refused after ms=(\\d+)").matcher(run.stdout);
        assertTrue(m.find());
        assertTrue(Long.parseLong(m.group(1)) >= 190, run.stdout);
        assertEquals(1, num(MemgovLog.read(log).one("summary"), "failures"));
    }
}
