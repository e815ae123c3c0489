package io.memgov.agent.report;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code java -jar memgov-agent.jar report LOG [--html FILE]}: a human summary of a memgov log.
 * Exit 0 when a report was printed (a cut log or a run without summary gives warnings on stderr and
 * in the report, and still 0); 2 on a usage error, a missing or unreadable file, a file with no
 * memgov event, or an HTML file that cannot be written.
 */
public final class ReportCommand {
    private ReportCommand() {
    }

    public static final String USAGE = String.join("\n",
            "usage: java -jar memgov-agent.jar report LOG [--html FILE]",
            "  Summarises a memgov log (text or json format, detected): per tier the peak and when,",
            "  the limits met, spills and restores (bytes, latency), the pool hit rate, leaks and",
            "  allocation sites, configuration errors and warnings.",
            "  --html FILE   also write a self-contained HTML page: a timeline of each tier's use",
            "                against its limit, spills marked, and the same tables",
            "       java -jar memgov-agent.jar report DIR|LOG|GLOB... [--html FILE]",
            "  Several logs (files, directories searched for *.log and Spark's stdout/stderr, or quoted",
            "  globs such as 'work/app-*/*/memgov-*.log'): one row per JVM (pid, host, Spark role, app and",
            "  executor id, HOST peak and limit, spills, restores, failures, leaks), a total row, the",
            "  allocation and leak sites merged over the JVMs; --html draws each JVM's HOST timeline.",
            "  Exit status: 0 report printed (warnings on stderr for a cut log), 2 bad input or usage.");

    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> logs = new ArrayList<>();
        String html = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h") || a.equals("help")) {
                out.println(USAGE);
                return 0;
            } else if (a.equals("--html")) {
                if (i + 1 >= args.length || args[i + 1].isEmpty()) {
                    return usage(err, "--html needs a FILE");
                }
                html = args[++i];
            } else if (a.startsWith("--html=")) {
                html = a.substring("--html=".length());
                if (html.isEmpty()) {
                    return usage(err, "--html needs a FILE");
                }
            } else if (a.startsWith("-") && !a.equals("-")) {
                return usage(err, "unknown option '" + a + "'");
            } else if (logs.contains(a)) {
                return usage(err, "'" + a + "' is given twice");
            } else {
                logs.add(a);
            }
        }
        if (logs.isEmpty()) {
            return usage(err, "which log? give the path of a memgov log");
        }
        if (logs.size() > 1 || Files.isDirectory(Paths.get(logs.get(0))) || MultiReport.isGlob(logs.get(0))) {
            return runMany(logs, html, out, err);
        }
        String log = logs.get(0);
        Path file = Paths.get(log);
        LogReader.ParsedLog parsed;
        try {
            parsed = LogReader.read(file);
        } catch (BadLogException e) {
            err.println("memgov report: " + e.getMessage());
            return 2;
        }
        List<RunReport> runs = new ArrayList<>();
        for (Run r : parsed.runs) {
            runs.add(new RunReport(r));
        }
        if (html != null && !writeHtml(Paths.get(html), () -> HtmlReport.render(parsed, runs), err)) {
            return 2;
        }
        for (String w : TextReport.allWarnings(parsed, runs)) {
            err.println("memgov report: " + file + ": warning: " + w);
        }
        out.print(TextReport.render(parsed, runs));
        if (html != null) {
            out.println();
            out.println("HTML report: " + Paths.get(html).toAbsolutePath());
        }
        out.flush();
        return 0;
    }

    /** Several logs, a directory or a glob: one report over all their JVMs. */
    private static int runMany(List<String> logs, String html, PrintStream out, PrintStream err) {
        MultiReport.Inputs in;
        try {
            in = MultiReport.read(logs);
        } catch (BadLogException e) {
            err.println("memgov report: " + e.getMessage());
            return 2;
        }
        if (html != null && !writeHtml(Paths.get(html), () -> MultiReport.html(in), err)) {
            return 2;
        }
        for (String w : in.warnings) {
            err.println("memgov report: warning: " + w);
        }
        out.print(MultiReport.render(in));
        if (html != null) {
            out.println();
            out.println("HTML report: " + Paths.get(html).toAbsolutePath());
        }
        out.flush();
        return 0;
    }

    private static int usage(PrintStream err, String problem) {
        err.println("memgov report: " + problem + "; usage: java -jar memgov-agent.jar report LOG [--html FILE]");
        return 2;
    }

    /** Writes the HTML page to {@code target}; false (having said why on {@code err}) when it cannot. */
    private static boolean writeHtml(Path target, java.util.function.Supplier<String> page, PrintStream err) {
        try {
            Files.write(target, page.get().getBytes(StandardCharsets.UTF_8));
            return true;
        } catch (NoSuchFileException e) {
            err.println("memgov report: cannot write the HTML report " + target + ": its directory does not exist");
        } catch (AccessDeniedException e) {
            err.println("memgov report: cannot write the HTML report " + target + ": permission denied");
        } catch (IOException | RuntimeException e) {
            err.println("memgov report: cannot write the HTML report " + target + ": " + e);
        }
        return false;
    }
}
