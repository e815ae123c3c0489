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

    @Test
    void aWorkingSetOfFourTimesTheLimitGivesTheSameResultsBitForBit() throws Exception {
        Forked plain = Forked.run(null, List.of(), Forked.examplesClassPath(), "io.memgov.examples.SpillWorkload", "64", "4", "400");
        assertEquals(0, plain.exitCode, plain.toString());
        Path log = Forked.newLog("spill");
        Path spillDir = Forked.WORK.resolve("spill-" + System.nanoTime());
        Forked governed = Forked.run("log.file=" + log + ",host.limit=64m,disk.dir=" + spillDir, List.of(),
                Forked.examplesClassPath(), "io.memgov.examples.SpillWorkload", "64", "4", "400");
        assertEquals(0, governed.exitCode, governed.toString());
        assertEquals(digest(plain), digest(governed), "every result must equal the ungoverned run's");

        MemgovLog l = MemgovLog.read(log);
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "host.peak") <= 64L << 20, "host.peak over the limit: " + summary);
        assertTrue(num(summary, "spills") > 0 && num(summary, "restores") > 0, summary.toString());
        assertEquals(num(summary, "spills") * (4L << 20), num(summary, "spill.bytes"), "every spill was a 4 MiB array");
        assertEquals(0, num(summary, "failures"));
        assertEquals(0, num(summary, "disk.used"), "spill files of closed arrays are deleted");
        assertTrue(num(summary, "disk.peak") > 0);
        assertTrue(l.all("limit").size() >= 1, l.text);
        assertTrue(l.all("error").isEmpty(), l.text);
        assertFalse(Files.exists(spillDir), "the spill directory is removed at exit");
    }

    @Test
    void eightThreadsSharingAndMutatingArraysUnderATightLimitSeeNoWrongValue() throws Exception {
        Path log = Forked.newLog("stress");
        Forked run = Forked.run("log.file=" + log + ",host.limit=24m", List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.SpillStress", "8", "200");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("stress ok"), run.toString());
        Map<String, String> summary = MemgovLog.read(log).one("summary");
        assertTrue(num(summary, "spills") > 0, summary.toString());
        assertTrue(num(summary, "host.peak") <= 24L << 20, summary.toString());
        assertEquals(0, num(summary, "host.used"));
    }
}
