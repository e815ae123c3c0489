package io.memgov.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Restores ahead of use over real natives: prefetched tensors are as good as restored ones, bit for bit. */
class PrefetchIT {
    /**
     * Four threads walk 24 arrays of 1 MiB in the same order under host.limit=8m (so memgov fetches
     * ahead of them) and, under the application's per-array locks, read, add in place, or replace
     * and close arrays; memgov's prefetch thread races all of that. No value may be wrong.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"djl", "nd4j"})
    void prefetchRacingUseCloseAndInPlaceWritesSeesNoWrongValue(String framework) throws Exception {
        Path log = Forked.newLog("prefetch-stress-" + framework);
        // prefetch=on: on this 2-core machine the trial of auto finds four walkers faster without it and
        // turns it off after a few prefetches; the race needs it fetching all along. A prefetch never
        // spills: spills down to half the limit leave it headroom (at 0.8, ND4J's walkers left it 4-18
        // prefetches in 40 passes; at 0.5, 700-840 for each framework)
        Forked run = Forked.run("log.file=" + log + ",host.limit=8m,prefetch=on,spill.low-watermark=0.5", List.of(), Forked.examplesClassPath(),
                "io.memgov.examples.PrefetchStress", framework, "4", "24", "40");
        assertEquals(0, run.exitCode, run.toString());
        assertTrue(run.stdout.contains("stress ok"), run.toString());
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> summary = l.one("summary");
        assertTrue(num(summary, "prefetches") >= 100 && num(summary, "prefetch.hits") > 0, summary.toString());
        assertEquals(0, num(summary, "prefetch.pauses"), summary.toString()); // on: never judged nor paused
        assertTrue(num(summary, "host.peak") <= 8L << 20, summary.toString());
        assertEquals(0, num(summary, "failures"), summary.toString());
        assertTrue(l.all("error").isEmpty(), l.text);
    }

    @Test
    void dl4jTrainingUnderATightLimitFetchesItsParametersAheadWithIdenticalScores() throws Exception {
        Path log = Forked.newLog("prefetch-dl4j");
        Forked.assertSameEpochsWithAndWithoutAgent("io.memgov.examples.Dl4jTraining", log,
                "host.limit=400k,disk.dir=" + Forked.WORK.resolve("prefetch-dl4j-" + System.nanoTime()), 3, "3", "30", "128");
        Map<String, String> summary = MemgovLog.read(log).one("summary");
        assertTrue(num(summary, "prefetches") > 0 && num(summary, "prefetch.hits") > 0, summary.toString());
        assertTrue(num(summary, "prefetch.wasted") <= num(summary, "prefetches") / 10 + 1, summary.toString());
    }
}
