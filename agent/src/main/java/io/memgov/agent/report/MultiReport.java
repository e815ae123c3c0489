package io.memgov.agent.report;

import io.memgov.runtime.Fields;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code report DIR|LOG...}: one report over many JVMs' logs (the executors of a Spark application, a fleet
 * of services): a row per JVM (a run in a log: pid, host, Spark role, application and executor id, HOST
 * peak and limit, spills, restores, failures, leaks) and a {@code total} row, then the allocation and leak
 * site tables merged over all JVMs, then every JVM's configuration problems and warnings.
 * A directory is searched (to a depth of 8) for {@code *.log} files and Spark's {@code stdout}/{@code stderr};
 * those holding no memgov event are skipped. A name with {@code *}, {@code ?} or {@code [} that is not a
 * file is a glob over file names.
 */
final class MultiReport {
    static final int TOP = 10;
    static final int DEPTH = 8;

    /** One JVM: a run of one log. */
    static final class Jvm {
        final int n;
        final Path log;
        final Run run;
        final RunReport report;

        Jvm(int n, Path log, Run run) {
            this.n = n;
            this.log = log;
            this.run = run;
            this.report = new RunReport(run);
        }

        String start(String key) {
            LogEvent s = run.start;
            if (s != null && s.has(key)) {
                return s.get(key);
            }
            LogEvent l = report.last;
            return l != null && l.has(key) ? l.get(key) : null;
        }

        long fin(String key) {
            return report.fin(key);
        }

        long limit() {
            return report.limitOf("host");
        }

        String role() {
            String r = start("role");
            return r == null ? "-" : r;
        }

        String label() {
            String id = start("spark.executor.id");
            return "executor".equals(role()) && id != null ? "executor " + id : role().equals("-") ? "pid " + start("pid")
                    : role();
        }
    }

    /** What the inputs held: the JVMs, the logs read, the files skipped and the warnings. */
    static final class Inputs {
        final List<Jvm> jvms = new ArrayList<>();
        final List<Path> logs = new ArrayList<>();
        final List<String> warnings = new ArrayList<>();
        int skipped;
    }

    private MultiReport() {
    }

    static boolean isGlob(String arg) {
        return (arg.contains("*") || arg.contains("?") || arg.contains("[")) && !Files.exists(Paths.get(arg));
    }

    /**
     * Reads every input: a file must be a memgov log (else BadLogException, as for a single log); a
     * directory or a glob gives the memgov logs it holds (other files are skipped); none at all is an error.
     */
    static Inputs read(List<String> args) throws BadLogException {
        Inputs in = new Inputs();
        Set<Path> seen = new LinkedHashSet<>();
        for (String a : args) {
            if (isGlob(a)) {
                List<Path> found = glob(a);
                if (found.isEmpty()) {
                    throw new BadLogException(a + ": no file matches");
                }
                int before = in.logs.size();
                for (Path f : found) {
                    add(in, seen, f, false);
                }
                if (in.logs.size() == before) {
                    throw new BadLogException(a + ": " + found.size() + " files match, none a memgov log");
                }
            } else {
                Path p = Paths.get(a);
                if (Files.isDirectory(p)) {
                    List<Path> found = walk(p);
                    int before = in.logs.size();
                    for (Path f : found) {
                        add(in, seen, f, false);
                    }
                    if (in.logs.size() == before) {
                        throw new BadLogException(p + ": is a directory, not a memgov log");
                    }
                } else {
                    add(in, seen, p, true);
                }
            }
        }
        return in;
    }

    private static void add(Inputs in, Set<Path> seen, Path f, boolean named) throws BadLogException {
        Path key = f.toAbsolutePath().normalize();
        if (!seen.add(key)) {
            return;
        }
        LogReader.ParsedLog parsed;
        try {
            parsed = LogReader.read(f);
        } catch (BadLogException e) {
            if (named) {
                throw e;
            }
            in.skipped++;
            return;
        }
        in.logs.add(f);
        for (String w : parsed.warnings) {
            in.warnings.add(f + ": " + w);
        }
        for (Run r : parsed.runs) {
            Jvm j = new Jvm(in.jvms.size() + 1, f, r);
            in.jvms.add(j);
            for (String w : j.report.warnings) {
                in.warnings.add(f + ": " + w);
            }
        }
    }

    /** Files under {@code dir} named {@code *.log}, {@code stdout} or {@code stderr}, in path order. */
    static List<Path> walk(Path dir) throws BadLogException {
        try (Stream<Path> s = Files.walk(dir, DEPTH)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".log") || n.equals("stdout") || n.equals("stderr");
            }).sorted().collect(Collectors.toList());
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new BadLogException(dir + ": cannot read the directory (" + e.getMessage() + ")");
        }
    }

    /** The files a glob matches: the part before the first wildcard's directory is walked, the rest matched. */
    static List<Path> glob(String pattern) throws BadLogException {
        String norm = pattern.replace('\\', '/');
        int wild = norm.length();
        for (char c : new char[]{'*', '?', '['}) {
            int i = norm.indexOf(c);
            if (i >= 0) {
                wild = Math.min(wild, i);
            }
        }
        int slash = norm.lastIndexOf('/', wild);
        Path base = slash < 0 ? Paths.get(".") : Paths.get(slash == 0 ? "/" : norm.substring(0, slash));
        String rest = slash < 0 ? norm : norm.substring(slash + 1);
        PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + rest);
        if (!Files.isDirectory(base)) {
            return new ArrayList<>();
        }
        try (Stream<Path> s = Files.walk(base, DEPTH)) {
            return s.filter(Files::isRegularFile).filter(p -> m.matches(base.relativize(p))).sorted()
                    .collect(Collectors.toList());
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new BadLogException(base + ": cannot read the directory (" + e.getMessage() + ")");
        }
    }

    // ---------------------------------------------------------------- the report

    static String render(Inputs in) {
        StringBuilder b = new StringBuilder();
        b.append("memgov report: ").append(in.logs.size()).append(in.logs.size() == 1 ? " log, " : " logs, ")
                .append(in.jvms.size()).append(in.jvms.size() == 1 ? " JVM" : " JVMs");
        if (in.skipped > 0) {
            b.append(" (").append(in.skipped).append(in.skipped == 1 ? " file" : " files").append(" without memgov events skipped)");
        }
        b.append('\n');
        for (String w : in.warnings) {
            b.append("WARNING: ").append(w).append('\n');
        }
        for (Section s : sections(in)) {
            b.append('\n').append(s.title).append('\n');
            TextReport.table(b, s);
            for (String note : s.notes) {
                b.append("  - ").append(note).append('\n');
            }
        }
        return b.toString();
    }

    static List<Section> sections(Inputs in) {
        List<Section> out = new ArrayList<>();
        out.add(jvms(in));
        out.add(sites(in, "Top allocating sites (top.allocated, merged over the JVMs)", Fields.TOP_ALLOCATED, false));
        out.add(sites(in, "Live at exit (live.sites, merged)", Fields.LIVE_SITES, true));
        out.add(sites(in, "Leak sites (leak.sites, merged)", Fields.LEAK_SITES, false));
        out.add(problems(in));
        return out;
    }

    private static Section jvms(Inputs in) {
        Section t = new Section("JVMs", "#", "pid", "host", "role", "app", "executor", "host.peak", "host.limit",
                "peak/limit", "spills", "restores", "failures", "leaks", "log");
        long peak = 0;
        long limits = 0;
        boolean allLimited = true;
        long spills = 0;
        long restores = 0;
        long failures = 0;
        long leaks = 0;
        Set<String> hosts = new LinkedHashSet<>();
        Set<String> apps = new LinkedHashSet<>();
        for (Jvm j : in.jvms) {
            long p = Math.max(0, j.fin(Fields.HOST_PEAK));
            long l = j.limit();
            String host = orDash(j.start("host"));
            String app = orDash(j.start("spark.app.id"));
            if (!host.equals("-")) {
                hosts.add(host);
            }
            if (!app.equals("-")) {
                apps.add(app);
            }
            t.row(String.valueOf(j.n), orDash(j.start("pid")), host, j.role(), app,
                    orDash(j.start("spark.executor.id")), Fmt.human(p), l < 0 ? "none" : Fmt.human(l),
                    l > 0 ? Fmt.pct((double) p / l) : "-", num(j.fin(Fields.SPILLS)), num(j.fin(Fields.RESTORES)),
                    num(j.fin(Fields.FAILURES)), num(j.fin(Fields.LEAKS)), j.log.toString());
            peak += p;
            if (l < 0) {
                allLimited = false;
            } else {
                limits += l;
            }
            spills += Math.max(0, j.fin(Fields.SPILLS));
            restores += Math.max(0, j.fin(Fields.RESTORES));
            failures += Math.max(0, j.fin(Fields.FAILURES));
            leaks += Math.max(0, j.fin(Fields.LEAKS));
        }
        t.row("total", in.jvms.size() + (in.jvms.size() == 1 ? " JVM" : " JVMs"), hosts.size() + (hosts.size() == 1 ? " host" : " hosts"),
                "-", apps.size() == 1 ? apps.iterator().next() : apps.isEmpty() ? "-" : apps.size() + " apps", "-", Fmt.human(peak),
                allLimited ? Fmt.human(limits) : "-", allLimited && limits > 0 ? Fmt.pct((double) peak / limits) : "-",
                String.valueOf(spills), String.valueOf(restores), String.valueOf(failures), String.valueOf(leaks), "");
        t.note("figures from each JVM's summary (else its last report); host.peak and host.limit of the total are sums"
                + " over the JVMs (their peaks need not have been at the same time)");
        int over = 0;
        for (Jvm j : in.jvms) {
            if (j.limit() >= 0 && j.fin(Fields.HOST_PEAK) > j.limit()) {
                over++;
            }
        }
        if (over > 0) {
            t.note(over + " JVM(s) had a HOST peak above their limit");
        }
        return t;
    }

    private static String orDash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    private static String num(long v) {
        return v < 0 ? "-" : String.valueOf(v);
    }

    private static final class Merged {
        long bytes;
        long tensors;
        final Set<Integer> jvms = new LinkedHashSet<>();
    }

    /** A site list of every JVM's last report or summary, summed per site: {@code site:bytes;...} or with tensors. */
    private static Section sites(Inputs in, String title, String field, boolean withCount) {
        Section t = withCount ? new Section(title, "site", "tensors", "bytes", "JVMs")
                : new Section(title, "site", "bytes", "JVMs");
        Map<String, Merged> sites = new LinkedHashMap<>();
        int with = 0;
        for (Jvm j : in.jvms) {
            LogEvent last = j.report.last;
            String list = last == null ? null : last.get(field);
            if (list == null) {
                continue;
            }
            with++;
            for (String entry : list.split(";")) {
                if (entry.isEmpty()) {
                    continue;
                }
                int c = entry.lastIndexOf(':');
                long bytes = c < 0 ? -1 : parse(entry.substring(c + 1));
                if (bytes < 0) {
                    continue;
                }
                String site = entry.substring(0, c);
                long tensors = 0;
                if (withCount) {
                    int c2 = site.lastIndexOf(':');
                    tensors = c2 < 0 ? -1 : parse(site.substring(c2 + 1));
                    if (tensors >= 0) {
                        site = site.substring(0, c2);
                    } else {
                        tensors = 0;
                    }
                }
                Merged m = sites.computeIfAbsent(site, k -> new Merged());
                m.bytes += bytes;
                m.tensors += tensors;
                m.jvms.add(j.n);
            }
        }
        List<Map.Entry<String, Merged>> top = new ArrayList<>(sites.entrySet());
        top.sort((a, b) -> Long.compare(b.getValue().bytes, a.getValue().bytes));
        for (int i = 0; i < top.size() && i < TOP; i++) {
            Merged m = top.get(i).getValue();
            String jvms = m.jvms.size() + " (" + m.jvms.stream().map(String::valueOf).collect(Collectors.joining(",")) + ")";
            if (withCount) {
                t.row(top.get(i).getKey(), String.valueOf(m.tensors), Fmt.bytes(m.bytes), jvms);
            } else {
                t.row(top.get(i).getKey(), Fmt.bytes(m.bytes), jvms);
            }
        }
        if (top.size() > TOP) {
            t.note((top.size() - TOP) + " more sites not shown");
        }
        if (with == 0) {
            t.note("no JVM's log has " + field);
        } else if (top.isEmpty()) {
            t.note("none (" + field + " is empty in the " + with + " JVM(s) that have it)");
        } else {
            t.note("from " + with + " of " + in.jvms.size() + " JVMs; JVMs by # of the JVMs table");
        }
        return t;
    }

    private static long parse(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Section problems(Inputs in) {
        Section t = new Section("Configuration and errors", "#", "event", "details");
        int rows = 0;
        int more = 0;
        for (Jvm j : in.jvms) {
            for (LogEvent e : j.run.events) {
                if (!RunReport.PROBLEMS.contains(e.name)) {
                    continue;
                }
                if (rows >= 40) {
                    more++;
                    continue;
                }
                rows++;
                t.row(String.valueOf(j.n), e.name, (e.has("message") ? e.get("message")
                        : e.fields.toString()).replace('\n', ' '));
            }
        }
        if (more > 0) {
            t.note(more + " more not shown");
        }
        if (t.rows.isEmpty()) {
            t.note("none: no config-error, config-warning, config-change, ungoverned or error event in any JVM");
        }
        return t;
    }

    static String html(Inputs in) {
        StringBuilder b = new StringBuilder(64 * 1024);
        HtmlReport.head(b, "memgov report: " + in.jvms.size() + " JVMs");
        b.append("<h1>memgov report: ").append(in.jvms.size()).append(" JVMs</h1>\n<p class=\"meta\">")
                .append(in.logs.size()).append(" logs").append(in.skipped > 0 ? ", " + in.skipped + " files without memgov events skipped" : "")
                .append("</p>\n");
        for (String w : in.warnings) {
            b.append("<div class=\"warn\">Warning: ").append(HtmlReport.esc(w)).append("</div>\n");
        }
        List<Section> sections = sections(in);
        HtmlReport.section(b, sections.get(0));
        b.append("<h2>HOST timelines</h2>\n");
        for (Jvm j : in.jvms) {
            b.append("<section class=\"run\" id=\"jvm-").append(j.n).append("\">\n<h3>#").append(j.n).append(' ')
                    .append(HtmlReport.esc(j.label())).append(", pid ").append(HtmlReport.esc(String.valueOf(j.start("pid"))))
                    .append(" on ").append(HtmlReport.esc(String.valueOf(j.start("host")))).append("</h3>\n");
            HtmlReport.hostChart(b, j.report, j.n);
            b.append("</section>\n");
        }
        for (int i = 1; i < sections.size(); i++) {
            HtmlReport.section(b, sections.get(i));
        }
        b.append("</body></html>\n");
        return b.toString();
    }

    static String pct(double d) {
        return String.format(Locale.ROOT, "%.1f%%", d * 100);
    }
}
