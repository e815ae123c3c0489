package io.memgov.agent.report;

import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.log.EventLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportTest {
    static Path resource(String name) throws URISyntaxException {
        return Paths.get(ReportTest.class.getResource("/report/" + name).toURI());
    }

    /** Runs the command; [0] exit code, [1] stdout, [2] stderr. */
    static Object[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = ReportCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Object[] {rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    static Map<String, String> fields(Object... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], String.valueOf(kv[i + 1]));
        }
        return m;
    }

    @Test
    void readsTheSameEventFromTheTextAndTheJsonFormatsOfTheRuntimesEventLog() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("key", "memgov.host.limit");
        f.put("value", "a \"b\" = c\\d");
        f.put("source", "agent options");
        f.put("n", 42L);
        f.put("message", "line\none\ttab");
        Instant t = Instant.parse("2026-11-29T01:02:03.456789Z");
        String text = new EventLog(null, LogFormat.TEXT, LogLevel.INFO).format(t, LogLevel.WARN, "config-warning", f);
        String json = new EventLog(null, LogFormat.JSON, LogLevel.INFO).format(t, LogLevel.WARN, "config-warning", f);
        LogEvent a = LogReader.parseText(text, 1);
        LogEvent b = LogReader.parseJson(json, 1);
        assertNotNull(a, text);
        assertNotNull(b, json);
        for (LogEvent e : List.of(a, b)) {
            assertEquals("config-warning", e.name());
            assertEquals(t, e.time());
            assertEquals("WARN", e.level);
            assertEquals(fields("key", "memgov.host.limit", "value", "a \"b\" = c\\d", "source", "agent options",
                    "n", 42, "message", "line\none\ttab"), e.fields());
        }
    }

    @Test
    void skipsLinesThatAreNotMemgovEventsAndRejectsUnreadableOnes() {
        assertNull(LogReader.parseJson("{\"time\":\"x\",\"level\":\"INFO\",\"logger\":\"app\",\"event\":\"start\"}", 1),
                "another logger's JSON line is not a memgov event");
        assertNull(LogReader.parseJson("{\"time\":\"2026-11-29T01:00:00Z\",\"logger\":\"memgov\",\"event\":\"report\",\"host.used\":1", 1));
        assertNull(LogReader.parseText("2026-11-29T01:00:00Z INFO memgov event=error message=\"cut", 1));
        assertFalse(LogReader.looksLikeEvent("INFO app started"));
    }

    @Test
    void theSummaryOfAKnownTextLogIsTheExpectedText() throws Exception {
        LogReader.ParsedLog log = LogReader.read(resource("spill-debug.log"));
        assertEquals("text", log.format());
        assertEquals(107, log.events());
        assertEquals(1, log.runs.size());
        assertTrue(log.warnings.isEmpty(), log.warnings.toString());
        String report = TextReport.render(log, List.of(new RunReport(log.runs.get(0))));
        String expected = Files.readString(resource("spill-debug.report.txt"), StandardCharsets.UTF_8);
        assertEquals(expected, report.substring(report.indexOf('\n') + 1));
    }

    /** The figures the report prints are the ones of the log's summary line. */
    @Test
    void theJsonLogsFiguresAreTheSummarys() throws Exception {
        String raw = Files.readString(resource("spill.json"), StandardCharsets.UTF_8);
        String summary = raw.lines().filter(l -> l.contains("\"event\":\"summary\"")).findFirst().orElseThrow();
        Object[] r = run(resource("spill.json").toString());
        assertEquals(0, r[0], (String) r[2]);
        String out = (String) r[1];
        assertTrue(out.contains("(json format, 28 events in 28 lines)"), out);
        assertEquals("", r[2]);
        long spills = json(summary, "spills");
        assertTrue(spills > 0);
        assertTrue(out.matches("(?s).*\\n  spills +" + spills + " +[0-9.]+ MiB \\(" + json(summary, "spill.bytes")
                + "\\) +" + json(summary, "spill.micros") + " .*"), out);
        assertTrue(out.matches("(?s).*\\n  restores +" + json(summary, "restores") + " +[0-9.]+ MiB \\("
                + json(summary, "restore.bytes") + "\\) +" + json(summary, "restore.micros") + " .*"), out);
        assertTrue(out.contains("\n  HOST    8.0 MiB (" + json(summary, "host.peak") + ")"), out);
        assertTrue(out.contains("limit met " + json(summary, "limit.hits") + " times in all"), out);
        assertTrue(out.contains("spill and restore events are logged at debug"), out);
    }

    static long json(String line, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\":(-?[0-9]+)").matcher(line);
        assertTrue(m.find(), key);
        return Long.parseLong(m.group(1));
    }

    @Test
    void aLogWithTwoRunsACutLastLineAndNoSummaryReportsWhatItHasAndWarns() throws Exception {
        Object[] r = run(resource("edge.log").toString());
        String out = (String) r[1];
        String err = (String) r[2];
        assertEquals(0, r[0], err);
        assertTrue(out.contains("(text format, 10 events in 12 lines, 1 other lines skipped, 2 runs)"), out);
        assertTrue(err.contains(": warning: line 12 is cut mid-line (the file does not end with a newline): ignored"), err);
        assertTrue(err.contains(": warning: no summary event for pid 4242: the JVM did not exit normally"), err);
        assertTrue(out.contains("WARNING: line 12 is cut mid-line"), out);
        assertTrue(out.contains("=== Run 1 of 2 ===\nno start event in this run"), out);
        assertTrue(out.contains("nothing governed: the run ended at ungoverned"), out);
        assertTrue(out.contains("ERROR  config-error  key=memgov.host.limit value=lots source=memgov.properties: memgov: host.limit: not a size: lots"), out);
        assertTrue(out.contains("ERROR  ungoverned    memgov: configuration errors: nothing installed"), out);
        assertTrue(out.contains("  HOST    768.0 KiB (786432)  +0.700 s (limit)  768.0 KiB (786432)  1.0 MiB (1048576)  75.0%"), out);
        assertTrue(out.contains("figures from the last report at +1.000 s"), out);
        assertTrue(out.contains("refused at +0.700 s: memgov: HOST limit: 786432 bytes requested"), out);
        assertTrue(out.contains("  6     2       75.0%"), out);
        assertTrue(out.contains("  leak events  Model.java:42 forward  2      8.0 KiB (8192)  djl\n"), out);
        assertTrue(out.contains("  leak events  Loader.java:7          1      100 B           nd4j\n"), out);
        assertTrue(out.contains("leaks: 3 tensors garbage-collected without close, 8.1 KiB (8292) (leaks, leak.bytes of the last report)"), out);
        assertTrue(out.contains("3 leak events logged, 8.1 KiB (8292)\n"), out);
        assertTrue(out.contains("ERROR  error  exception=java.io.IOException at=SpillStore.write: spill failed"), out);
        assertTrue(out.contains("Checkpoints\n  label       at        host.used           device.used  disk.used  live\n"
                + "  after load  +0.500 s  512.0 KiB (524288)  0 B          0 B        2\n"), out);
    }

    /** The fields the sites/leaks work adds to report and summary (logs of that branch's agent). */
    @Test
    void siteListsLeaksAndLatencyPercentilesOfTheSummaryAreShown() throws Exception {
        String site = "io.memgov.examples.ObserveWorkload.leakNd4j(ObserveWorkload.java:102)";
        Object[] r = run(resource("observe-leak.log").toString());
        String out = (String) r[1];
        assertEquals(0, r[0], (String) r[2]);
        assertTrue(out.contains("  allocated    " + site + "  -      8.0 MiB (8388608)\n"), out);
        assertTrue(out.contains("  leaked       " + site + "  -      8.0 MiB (8388608)\n"), out);
        assertTrue(out.contains("  leak events  " + site + "  8      8.0 MiB (8388608)  nd4j\n"), out);
        assertTrue(out.contains("leaks: 8 tensors garbage-collected without close, 8.0 MiB (8388608) (leaks, leak.bytes of the summary)"), out);
        assertTrue(out.contains("allocation sizes (sampled): p50 1.0 MiB (1048576), p99 1.0 MiB (1048576), max 1.0 MiB (1048576)"), out);

        out = (String) run(resource("observe-live.log").toString())[1];
        assertTrue(out.contains("  live at exit  io.memgov.examples.ObserveWorkload.allocateLive(ObserveWorkload.java:75)  2      32.0 MiB (33554432)\n"), out);

        out = (String) run(resource("observe-spill.log").toString())[1];
        String summary = Files.readString(resource("observe-spill.log")).lines().filter(l -> l.contains("event=summary"))
                .findFirst().orElseThrow();
        Matcher m = Pattern.compile("spill.micros.p50=(\\d+) spill.micros.p99=(\\d+) spill.micros.max=(\\d+)").matcher(summary);
        assertTrue(m.find());
        assertTrue(Pattern.compile("\\n  spills +41 .* " + m.group(1) + " +" + m.group(2) + " +" + m.group(3) + " +summary\\n")
                .matcher(out).find(), out);
        // sites by bytes: the 1 MiB arrays' site carries the bytes, no 'unsampled' bucket
        assertTrue(out.contains("  allocated  io.memgov.examples.SpillWorkload.main(SpillWorkload.java:35)"), out);
        assertFalse(out.contains("unsampled"), out);
        assertTrue(out.contains("memgov.sites=sample: sampled by bytes, one sample every 512.0 KiB (524288) on average"), out);
    }

    @Test
    void aMissingFileIsExitCode2WithAOneLineMessage() {
        Object[] r = run("/no/such/memgov.log");
        assertEquals(2, r[0]);
        assertEquals("", r[1]);
        assertEquals("memgov report: /no/such/memgov.log: no such file\n", r[2]);
    }

    @Test
    void aFileThatIsNotAMemgovLogIsExitCode2(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("app.log");
        Files.writeString(f, "hello\n{\"a\":1}\n2026-11-29 INFO app started\n");
        Object[] r = run(f.toString());
        assertEquals(2, r[0]);
        assertEquals("memgov report: " + f + ": not a memgov log (no memgov event in its 3 lines)\n", r[2]);
        Path empty = Files.createFile(dir.resolve("empty.log"));
        r = run(empty.toString());
        assertEquals(2, r[0]);
        assertEquals("memgov report: " + empty + ": empty file, not a memgov log\n", r[2]);
        r = run(dir.toString());
        assertEquals(2, r[0]);
        assertEquals("memgov report: " + dir + ": is a directory, not a memgov log\n", r[2]);
        Path bin = dir.resolve("bin.log");
        Files.write(bin, new byte[] {0, (byte) 0xff, (byte) 0xfe, 10, 1, 2, 3});
        r = run(bin.toString());
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).startsWith("memgov report: " + bin + ": not a memgov log"), (String) r[2]);
    }

    @Test
    void aLogCutInsideItsOnlyEventIsExitCode2(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("cut.log");
        Files.writeString(f, "2026-11-29T01:00:00Z INFO memgov event=start version=0.1.0 pid=1 host.li");
        Object[] r = run(f.toString());
        assertEquals(2, r[0]);
        assertEquals("memgov report: " + f + ": no complete memgov event (line 1 is cut mid-line (the file does not"
                + " end with a newline): ignored)\n", r[2]);
    }

    @Test
    void anHtmlFileThatCannotBeWrittenIsExitCode2BeforeAnyOutput(@TempDir Path dir) throws Exception {
        Path html = dir.resolve("no/such/dir/r.html");
        Object[] r = run(resource("spill-debug.log").toString(), "--html", html.toString());
        assertEquals(2, r[0]);
        assertEquals("", r[1]);
        assertEquals("memgov report: cannot write the HTML report " + html + ": its directory does not exist\n", r[2]);
    }

    @Test
    void usageErrorsAreExitCode2() throws Exception {
        String log = resource("spill-debug.log").toString();
        for (String[] args : new String[][] {{}, {"--bogus", log}, {log, "--html"}, {log, log}, {"--html="}}) {
            Object[] r = run(args);
            assertEquals(2, r[0], String.join(" ", args));
            assertEquals("", r[1]);
            String err = (String) r[2];
            assertTrue(err.startsWith("memgov report: ") && err.endsWith("; usage: java -jar memgov-agent.jar report LOG [--html FILE]\n")
                    && err.indexOf('\n') == err.length() - 1, err);
        }
        assertTrue(((String) run("--bogus", log)[2]).contains("unknown option '--bogus'"));
        Object[] help = run("--help");
        assertEquals(0, help[0]);
        assertTrue(((String) help[1]).startsWith("usage: java -jar memgov-agent.jar report LOG [--html FILE]"));
    }

    @Test
    void theHtmlPageIsSelfContainedWithATimelinePointPerStartReportAndSummary(@TempDir Path dir) throws Exception {
        Path html = dir.resolve("r.html");
        Object[] r = run(resource("spill-debug.log").toString(), "--html", html.toString());
        assertEquals(0, r[0], (String) r[2]);
        assertTrue(((String) r[1]).endsWith("HTML report: " + html.toAbsolutePath() + "\n"));
        String page = Files.readString(html);
        assertTrue(page.startsWith("<!DOCTYPE html>"));
        // 1 start + 23 reports + 1 summary
        Matcher m = Pattern.compile("<polyline class=\"used\" data-tier=\"host\" data-points=\"(\\d+)\" points=\"([^\"]*)\"")
                .matcher(page);
        assertTrue(m.find(), page);
        assertEquals("25", m.group(1));
        assertEquals(25, m.group(2).split(" ").length);
        assertTrue(page.contains("<polyline class=\"used\" data-tier=\"disk\""), "DISK was used: it has a chart");
        assertFalse(page.contains("data-tier=\"device\""), "DEVICE was neither used nor limited");
        assertTrue(page.contains("<line class=\"limit\" data-limit=\"8388608\""));
        assertEquals(41, count(page, "<line class=\"spill\""), "a tick per spill event");
        assertEquals(2, count(page, "<circle class=\"limit-hit\""));
        assertFalse(page.matches("(?s).*(src|href)=.*"), "no external resource");
        assertFalse(page.contains("<script"));
        assertTrue(page.contains("<td>spills</td><td>41</td><td>41.0 MiB (42991616)</td>"), "the same tables");
    }

    @Test
    void withoutSpillEventsTheHtmlMarksTheReportIntervalsInWhichTheSpillCounterGrew(@TempDir Path dir) throws Exception {
        Path html = dir.resolve("r.html");
        assertEquals(0, run(resource("spill.json").toString(), "--html", html.toString())[0]);
        String page = Files.readString(html);
        Matcher m = Pattern.compile("<rect class=\"spill\" data-spills=\"(\\d+)\"").matcher(page);
        long total = 0;
        while (m.find()) {
            total += Long.parseLong(m.group(1));
        }
        assertEquals(41, total, "the bars add up to the summary's spills");
    }

    /** The process fields of reports and the summary: a table of where RSS is, and RSS drawn in HOST's chart. */
    @Test
    void showsWhereTheProcesssResidentMemoryIs(@TempDir Path dir) throws Exception {
        String common = " host.limit=67108864 device.used=0 device.peak=0 device.limit=-1 disk.used=0 disk.peak=0"
                + " disk.limit=-1 allocations=4 releases=2 spills=1 restores=0 spill.bytes=1 restore.bytes=0 pool.hits=0"
                + " pool.misses=0 failures=0";
        String log = "2026-12-06T01:00:00.000Z INFO memgov event=start version=0.1.0 pid=7 frameworks=djl host.limit=67108864"
                + " device.limit=-1 disk.limit=-1 disk.dir=/tmp/x on-limit=spill container.limit=1073741824 startup.ms=5\n"
                + "2026-12-06T01:00:01.000Z INFO memgov event=report host.used=33554432 host.peak=33554432" + common
                + " rss=314572800 rss.peak=314572800 heap.used=52428800 heap.committed=134217728"
                + " nonheap.committed=41943040 direct.used=1048576 native.other=103809024\n"
                + "2026-12-06T01:00:02.000Z INFO memgov event=summary host.used=16777216 host.peak=67108864" + common
                + " rss=209715200 rss.peak=419430400 heap.used=41943040 heap.committed=134217728"
                + " nonheap.committed=41943040 direct.used=0 native.other=16777216\n";
        Path f = dir.resolve("rss.log");
        Files.writeString(f, log);
        Object[] r = run(f.toString());
        assertEquals(0, r[0], (String) r[2]);
        String out = (String) r[1];
        assertTrue(out.contains("Process memory"), out);
        assertTrue(Pattern.compile("RSS\\s+\\|?\\s*200\\.0 MiB \\(209715200\\)\\s+\\|?\\s*400\\.0 MiB \\(419430400\\)").matcher(out).find(),
                "RSS at end and VmHWM: " + out);
        assertTrue(Pattern.compile("native\\.other\\s+\\|?\\s*16\\.0 MiB \\(16777216\\)\\s+\\|?\\s*99\\.0 MiB \\(103809024\\)\\s+\\|?\\s*8\\.0%")
                .matcher(out).find(), "native.other at end, highest, share of RSS: " + out);
        assertTrue(out.contains("container memory limit 1.0 GiB (1073741824): highest RSS 39.1% of it"), out);
        Path html = dir.resolve("rss.html");
        assertEquals(0, run(f.toString(), "--html", html.toString())[0]);
        String page = Files.readString(html);
        assertTrue(page.contains("<polyline class=\"rss\" data-points=\"2\""), "RSS of the report and the summary");
        assertEquals(1, count(page, "<polyline class=\"rss\""), "in HOST's chart only");
    }

    static int count(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void timesParseAsInstantParseDoes() {
        for (String t : List.of("2026-11-29T01:45:49.114433513Z", "2026-11-29T01:45:49Z", "2026-11-29T01:45:49.1Z",
                "2024-02-29T23:59:59.999999Z", "1999-12-31T00:00:00.000Z")) {
            assertEquals(Instant.parse(t), LogReader.instant(t), t);
        }
        assertNull(LogReader.instant("2026-13-29T01:45:49Z"));
        assertNull(LogReader.instant("2026-02-30T01:45:49Z"));
        assertNull(LogReader.instant("yesterday"));
        assertEquals(Instant.parse("2026-11-29T01:45:49+01:00"), LogReader.instant("2026-11-29T01:45:49+01:00"));
    }

    /** A debug log with thousands of spills: bars over the time axis whose counts add up, not a tick each. */
    @Test
    void manySpillEventsAreDrawnAsBarsThatAddUp(@TempDir Path dir) throws Exception {
        StringBuilder log = new StringBuilder("2026-11-29T01:00:00Z INFO memgov event=start pid=9 host.limit=1048576\n");
        int n = 5000;
        for (int i = 0; i < n; i++) {
            log.append(String.format("2026-11-29T01:00:%02d.%03dZ DEBUG memgov event=spill id=%d bytes=4096 from=host to=disk micros=%d%n",
                    i / 1000, i % 1000, i, 100 + i % 7));
        }
        log.append("2026-11-29T01:00:06Z INFO memgov event=summary host.used=0 host.peak=1048576 host.limit=1048576 spills=")
                .append(n).append(" spill.bytes=").append(n * 4096L).append(" spill.micros=1\n");
        Path f = dir.resolve("many.log");
        Files.writeString(f, log);
        Path html = dir.resolve("many.html");
        Object[] r = run(f.toString(), "--html", html.toString());
        assertEquals(0, r[0], (String) r[2]);
        assertTrue(((String) r[1]).contains(n + " spill events logged (host->disk " + n + ")"), (String) r[1]);
        assertTrue(((String) r[1]).contains("  spills    " + n + "   "), (String) r[1]);
        String page = Files.readString(html);
        assertEquals(0, count(page, "<line class=\"spill\""));
        Matcher m = Pattern.compile("<rect class=\"spill\" data-spills=\"(\\d+)\"").matcher(page);
        long total = 0;
        int bars = 0;
        while (m.find()) {
            total += Long.parseLong(m.group(1));
            bars++;
        }
        assertEquals(n, total);
        assertTrue(bars > 100 && bars <= HtmlReport.BINS, "bars: " + bars);
    }

    @Test
    void niceStepsAreRound() {
        assertEquals(20 << 20, HtmlReport.niceStep(17.6 * (1 << 20)), 1e-6);
        assertEquals(2.5 * (1 << 30), HtmlReport.niceStep(2.2 * (1L << 30)), 1e-3);
        assertEquals(0.5 * (1 << 20), HtmlReport.niceStep(0.265 * (1 << 20)), 1e-6);
        assertEquals(100, HtmlReport.niceStep(80), 1e-9);
        assertThrows(BadLogException.class, () -> LogReader.read(Paths.get("/nope")));
    }
}
