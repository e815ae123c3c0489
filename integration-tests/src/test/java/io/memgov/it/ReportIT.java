package io.memgov.it;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code java -jar memgov-agent.jar report LOG [--html FILE]} over the logs of real workloads run under
 * the agent: the figures it prints are the log's, both formats read, bad input is exit code 2, and the
 * HTML page draws its timeline in a real browser (headless Chromium).
 */
class ReportIT {
    static Path textLog;
    static Path jsonLog;

    /** One SpillWorkload run over a 64 MiB HOST limit, reporting every 200 ms, in each format. */
    @BeforeAll
    static void runWorkloads() throws Exception {
        textLog = spillRun("text");
        jsonLog = spillRun("json");
    }

    static Path spillRun(String format) throws Exception {
        Path log = Forked.newLog("report-" + format);
        Forked run = Forked.run("log.file=" + log + ",host.limit=64m,report.interval=200ms,log.format=" + format,
                List.of(), Forked.examplesClassPath(), "io.memgov.examples.SpillWorkload", "64", "4", "300");
        assertEquals(0, run.exitCode, run.toString());
        return log;
    }

    /** Runs {@code java -jar memgov-agent.jar report ARGS}. */
    static Forked report(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Forked.java(), "-jar", Forked.AGENT.toString(), "report"));
        cmd.addAll(Arrays.asList(args));
        return exec(cmd, 120);
    }

    static Forked exec(List<String> cmd, int timeoutSeconds) throws Exception {
        Files.createDirectories(Forked.WORK);
        Path out = Files.createTempFile(Forked.WORK, "report-out-", ".txt");
        Path err = Files.createTempFile(Forked.WORK, "report-err-", ".txt");
        Process p = new ProcessBuilder(cmd).directory(Forked.WORK.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + String.join(" ", cmd));
        }
        return Forked.of(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    static Map<String, String> summaryOf(Path log) throws Exception {
        String text = Files.readString(log);
        if (text.startsWith("{")) {
            // the JSON log: its summary line's numbers, as the text format would give them
            String line = text.lines().filter(l -> l.contains("\"event\":\"summary\"")).findFirst().orElseThrow();
            Map<String, String> m = new java.util.LinkedHashMap<>();
            Matcher f = Pattern.compile("\"([a-z0-9.]+)\":(-?[0-9]+)").matcher(line);
            while (f.find()) {
                m.put(f.group(1), f.group(2));
            }
            return m;
        }
        return MemgovLog.read(log).one("summary");
    }

    static long reports(Path log) throws Exception {
        String text = Files.readString(log);
        return text.lines().filter(l -> l.contains(" memgov event=report ") || l.contains("\"event\":\"report\"")).count();
    }

    /** The figures printed are those of the log's summary line, for either format. */
    static void assertFiguresAreTheSummarys(Path log, String format) throws Exception {
        Map<String, String> s = summaryOf(log);
        assertTrue(num(s, "spills") > 0 && num(s, "restores") > 0 && num(s, "limit.hits") > 0, s.toString());
        Forked r = report(log.toString());
        assertEquals(0, r.exitCode, r.toString());
        assertEquals("", r.stderr, "a complete log gives no warning");
        String out = r.stdout;
        assertTrue(out.startsWith("memgov report: " + log + " (" + format + " format, "), out);
        assertTrue(Pattern.compile("\\n  HOST    64\\.0 MiB \\(" + num(s, "host.peak") + "\\) +\\+[0-9.]+ s \\((report|limit)\\)  ")
                .matcher(out).find(), out);
        assertTrue(Pattern.compile("\\n  DISK    [0-9.]+ MiB \\(" + num(s, "disk.peak") + "\\)  \\+[0-9.]+ s \\((report|summary)\\)  0 B  ")
                .matcher(out).find(), out);
        assertTrue(out.contains("  64.0 MiB (67108864)  100.0%\n"), out);
        for (String[] k : new String[][] {{"spills", "spill"}, {"restores", "restore"}}) {
            // p50/p99/max: "-" without spill/restore events, unless the summary has the governor's percentiles
            String pct = s.containsKey(k[1] + ".micros.p50") ? " +" + num(s, k[1] + ".micros.p50") + " +"
                    + num(s, k[1] + ".micros.p99") + " +" + num(s, k[1] + ".micros.max") : " +- +- +-";
            assertTrue(Pattern.compile("\\n  " + k[0] + " +" + num(s, k[0]) + " +[0-9.]+ GiB \\(" + num(s, k[1] + ".bytes")
                    + "\\) +" + num(s, k[1] + ".micros") + " +[0-9.]+" + pct + " +summary\\n").matcher(out).find(),
                    k[0] + ": " + out);
        }
        assertTrue(num(s, "spills.clean") > 0, "the workload reads arrays back unchanged: " + s);
        assertTrue(out.contains("\n  - " + num(s, "spills.clean") + " of the spills wrote nothing, "), out);
        assertTrue(out.contains("limit met " + num(s, "limit.hits") + " times in all (limit.hits)"), out);
        assertTrue(out.contains("failures: " + num(s, "failures") + " allocations refused"), out);
        assertTrue(out.contains("storages: " + num(s, "allocations") + " allocated, " + num(s, "releases") + " released, "
                + num(s, "live") + " live at end"), out);
        Matcher pool = Pattern.compile("\\nPool\\n  hits  misses  hit rate\\n  ([0-9]+) +([0-9]+) +(\\S+)\\n").matcher(out);
        assertTrue(pool.find(), out);
        long hits = num(s, "pool.hits");
        long misses = num(s, "pool.misses");
        assertEquals(hits, Long.parseLong(pool.group(1)));
        assertEquals(misses, Long.parseLong(pool.group(2)));
        assertEquals(hits + misses == 0 ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f%%", 100.0 * hits / (hits + misses)),
                pool.group(3));
        assertTrue(Pattern.compile("\\n  HOST  [0-9]+ +spill [0-9]+ +0 +\\+").matcher(out).find(), "limits met by tier: " + out);
        assertTrue(out.contains("none: no config-error, config-warning, config-change, ungoverned or error event"), out);
    }

    @Test
    void theTextLogsFiguresAreTheSummarys() throws Exception {
        assertFiguresAreTheSummarys(textLog, "text");
    }

    @Test
    void theJsonLogsFiguresAreTheSummarys() throws Exception {
        assertFiguresAreTheSummarys(jsonLog, "json");
    }

    @Test
    void aRefusedAllocationIsReportedWithTheLogsMessage() throws Exception {
        Path log = Forked.newLog("report-fail");
        Forked run = Forked.run("log.file=" + log + ",host.limit=8256k,on-limit=fail", List.of(),
                Forked.examplesClassPath(), "io.memgov.examples.LimitWorkload", "djl", "fill");
        assertEquals(0, run.exitCode, run.toString());
        MemgovLog l = MemgovLog.read(log);
        Map<String, String> limit = l.all("limit").stream().filter(e -> e.containsKey("message")).findFirst()
                .orElseThrow(() -> new AssertionError(l.text));
        Forked r = report(log.toString());
        assertEquals(0, r.exitCode, r.toString());
        assertTrue(Pattern.compile("\\n  HOST  " + l.all("limit").size() + " +fail [0-9]+ +1 +\\+").matcher(r.stdout).find(),
                r.stdout);
        assertTrue(r.stdout.contains("failures: " + num(l.one("summary"), "failures") + " allocations refused"), r.stdout);
        assertTrue(r.stdout.contains(": " + limit.get("message") + "\n"), "the refusal's message: " + r.stdout);
    }

    @Test
    void badInputIsExitCode2WithAOneLineMessageNamingTheFile() throws Exception {
        Path missing = Forked.WORK.resolve("no-such-" + System.nanoTime() + ".log");
        Forked r = report(missing.toString());
        assertEquals(2, r.exitCode, r.toString());
        assertEquals("memgov report: " + missing + ": no such file\n", r.stderr);
        assertEquals("", r.stdout);

        Path notALog = Files.createTempFile(Forked.WORK, "app-", ".log");
        Files.writeString(notALog, "digest=d5d487df\nrun.ms=2647\n");
        r = report(notALog.toString());
        assertEquals(2, r.exitCode, r.toString());
        assertEquals("memgov report: " + notALog + ": not a memgov log (no memgov event in its 2 lines)\n", r.stderr);

        r = report(textLog.toString(), "--colour");
        assertEquals(2, r.exitCode, r.toString());
        assertEquals("memgov report: unknown option '--colour'; usage: java -jar memgov-agent.jar report LOG [--html FILE]\n",
                r.stderr);
        r = report();
        assertEquals(2, r.exitCode, r.toString());
    }

    /** A log cut mid-line with no summary (the JVM died): what it has, with warnings naming the file, exit 0. */
    @Test
    void aCutLogIsReportedFromItsLastReportWithWarnings() throws Exception {
        String text = Files.readString(textLog);
        int summaryAt = text.indexOf(" memgov event=summary ");
        String head = text.substring(0, text.lastIndexOf('\n', summaryAt) + 1);
        Path cut = Files.createTempFile(Forked.WORK, "cut-", ".log");
        String lastReport = head.lines().filter(l -> l.contains(" memgov event=report ")).reduce((a, b) -> b).orElseThrow();
        // cut the last report line in two
        Files.writeString(cut, head.substring(0, head.length() - lastReport.length() / 2 - 1));
        // the last whole report: the cut line is ignored (where the cut falls, it may still hold uptime.ms)
        Path whole = Files.createTempFile(Forked.WORK, "whole-", ".log");
        Files.writeString(whole, head.substring(0, head.length() - lastReport.length() - 1));
        Map<String, String> before = MemgovLog.read(whole).all("report").stream()
                .filter(e -> e.containsKey("uptime.ms")).reduce((a, b) -> b).orElseThrow();
        Forked r = report(cut.toString());
        assertEquals(0, r.exitCode, r.toString());
        String[] warnings = r.stderr.split("\n");
        assertEquals(2, warnings.length, r.stderr);
        assertTrue(warnings[0].matches("memgov report: " + Pattern.quote(cut.toString())
                + ": warning: line [0-9]+ is cut mid-line \\(the file does not end with a newline\\): ignored"), r.stderr);
        assertTrue(warnings[1].startsWith("memgov report: " + cut + ": warning: no summary event for pid "), r.stderr);
        assertTrue(r.stdout.contains("figures from the last report at +"), r.stdout);
        assertTrue(r.stdout.contains(", " + num(before, "uptime.ms") + " ms (uptime.ms)"), "the last whole report's: " + r.stdout);
        assertTrue(Pattern.compile("\\n  spills +" + num(before, "spills") + " .* last report\\n").matcher(r.stdout).find(), r.stdout);
    }

    /** A browser on this machine, or null. */
    static String chromium() {
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                File f = new File(dir, name);
                if (f.canExecute()) {
                    return f.getPath();
                }
            }
        }
        return null;
    }

    static List<String> chromiumCommand(String chromium, Path profile) {
        return new ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--window-size=1200,900"));
    }

    @Test
    void theHtmlPageDrawsTheTimelineInABrowser() throws Exception {
        String chromium = chromium();
        if (chromium == null) {
            String why = "headless Chromium is not installed (apt-get install -y chromium): the HTML report was not rendered";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new AssertionError(why + " (CI=true: .ci/run installs it)");
            }
            Assumptions.abort(why);
        }
        Path html = Forked.WORK.resolve("report-" + System.nanoTime() + ".html");
        Forked r = report(textLog.toString(), "--html", html.toString());
        assertEquals(0, r.exitCode, r.toString());
        assertTrue(r.stdout.endsWith("\nHTML report: " + html + "\n"), r.stdout);
        long samples = 1 + reports(textLog) + 1; // start, every report, summary

        List<String> dump = chromiumCommand(chromium, Files.createTempDirectory(Forked.WORK, "chromium-"));
        dump.add("--dump-dom");
        dump.add(html.toUri().toString());
        Forked dom = exec(dump, 120);
        assertEquals(0, dom.exitCode, dom.toString());
        Matcher m = Pattern.compile("<polyline class=\"used\" data-tier=\"host\" data-points=\"(\\d+)\" points=\"([^\"]+)\"")
                .matcher(dom.stdout);
        assertTrue(m.find(), "the HOST timeline in the browser's DOM: " + dom.stdout);
        assertEquals(samples, Long.parseLong(m.group(1)));
        assertEquals(samples, m.group(2).trim().split(" ").length, "a point per start, report and summary");
        assertTrue(dom.stdout.contains("<polyline class=\"used\" data-tier=\"disk\""), "the DISK timeline");
        assertTrue(dom.stdout.contains("<line class=\"limit\" data-limit=\"67108864\""), "the HOST limit line");
        Matcher bars = Pattern.compile("<rect class=\"spill\" data-spills=\"(\\d+)\"").matcher(dom.stdout);
        long spills = 0;
        while (bars.find()) {
            spills += Long.parseLong(bars.group(1));
        }
        assertEquals(num(summaryOf(textLog), "spills"), spills, "the spill marks add up to the summary's spills");

        Path png = Forked.WORK.resolve("report-" + System.nanoTime() + ".png");
        List<String> shot = chromiumCommand(chromium, Files.createTempDirectory(Forked.WORK, "chromium-"));
        shot.add("--screenshot=" + png);
        shot.add(html.toUri().toString());
        Forked s = exec(shot, 120);
        assertEquals(0, s.exitCode, s.toString());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(1200, img.getWidth());
        Set<Integer> colours = new HashSet<>();
        int blue = 0;
        int orange = 0;
        int red = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                int cr = rgb >> 16;
                int cg = (rgb >> 8) & 0xff;
                int cb = rgb & 0xff;
                if (near(cr, 0x2f) && near(cg, 0x6f) && near(cb, 0xd6)) {
                    blue++; // the use line, #2f6fd6
                } else if (cr > 200 && cg > 150 && cg < 225 && cb < 160) {
                    orange++; // the spill bars, #f08c00 at 55% over the chart's background
                } else if (cr > 170 && cg < 100 && cb < 100) {
                    red++; // the limit line and the limit events' dots, #d2332f
                }
            }
        }
        assertTrue(colours.size() > 50, "a rendered page, not a blank one: " + colours.size() + " colours in " + png);
        assertTrue(blue > 500, "the use lines (#2f6fd6) drawn: " + blue + " pixels in " + png);
        assertTrue(orange > 500, "the spills marked: " + orange + " pixels in " + png);
        assertTrue(red > 100, "the limit line and limit events drawn: " + red + " pixels in " + png);
    }

    static boolean near(int a, int b) {
        return Math.abs(a - b) < 40;
    }
}
