package io.memgov.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's main command: the demo (examples jar's main class) under {@code host.limit=8m}, then
 * the report tool over its log. The models need four times the limit: memgov spills them, every
 * answer equals the run without the agent, and the human report shows the limit and the spills.
 */
class DemoIT {
    static String digest(Forked run) {
        Matcher m = Pattern.compile("digest=([0-9a-f]+)").matcher(run.stdout);
        assertTrue(m.find(), run.toString());
        return m.group(1);
    }

    @Test
    void theDemoSpillsItsModelsAnswersAsWithoutALimitAndEndsWithTheReport() throws Exception {
        Forked plain = Forked.run(null, List.of(), Forked.EXAMPLES.toString(), "io.memgov.examples.Demo");
        assertEquals(0, plain.exitCode, plain.toString());
        Path log = Forked.newLog("demo");
        Forked governed = Forked.run("host.limit=8m,log.file=" + log, List.of(), Forked.EXAMPLES.toString(),
                "io.memgov.examples.Demo");
        assertEquals(0, governed.exitCode, governed.toString());
        assertEquals(digest(plain), digest(governed), "the same answers as without the agent");
        Matcher w = Pattern.compile("weights.bytes=(\\d+)").matcher(governed.stdout);
        assertTrue(w.find() && Long.parseLong(w.group(1)) >= 4 * (8L << 20), "weights of 4x the limit: " + governed);
        Map<String, String> summary = MemgovLog.read(log).one("summary");
        assertTrue(num(summary, "spills") > 0 && num(summary, "restores") > 0, summary.toString());
        assertTrue(num(summary, "host.peak") <= 8L << 20, summary.toString());
        assertEquals(0, num(summary, "failures"), summary.toString());

        Forked report = ReportIT.report(log.toString());
        assertEquals(0, report.exitCode, report.toString());
        assertTrue(report.stdout.contains("Memory by tier") && report.stdout.contains("8.0 MiB (8388608)"), report.stdout);
        assertTrue(report.stdout.contains("Spills and restores"), report.stdout);
    }
}
