package io.memgov.agent.report;

import java.util.ArrayList;
import java.util.List;

/** The report as plain text: a header, then each run's tables with their notes. */
final class TextReport {
    private TextReport() {
    }

    static String render(LogReader.ParsedLog log, List<RunReport> runs) {
        StringBuilder b = new StringBuilder();
        b.append("memgov report: ").append(log.file).append(" (").append(log.format()).append(" format, ")
                .append(log.events()).append(" events in ").append(log.lines).append(" lines");
        if (log.otherLines > 0) {
            b.append(", ").append(log.otherLines).append(" other lines skipped");
        }
        if (runs.size() > 1) {
            b.append(", ").append(runs.size()).append(" runs");
        }
        b.append(")\n");
        for (String w : allWarnings(log, runs)) {
            b.append("WARNING: ").append(w).append('\n');
        }
        int n = 0;
        for (RunReport r : runs) {
            n++;
            b.append('\n');
            if (runs.size() > 1) {
                b.append("=== Run ").append(n).append(" of ").append(runs.size()).append(" ===\n");
            }
            for (String h : r.headline) {
                b.append(h).append('\n');
            }
            for (Section s : r.sections) {
                b.append('\n').append(s.title).append('\n');
                table(b, s);
                for (String note : s.notes) {
                    b.append("  - ").append(note).append('\n');
                }
            }
        }
        return b.toString();
    }

    static List<String> allWarnings(LogReader.ParsedLog log, List<RunReport> runs) {
        List<String> w = new ArrayList<>(log.warnings);
        for (RunReport r : runs) {
            w.addAll(r.warnings);
        }
        return w;
    }

    static void table(StringBuilder b, Section s) {
        if (s.rows.isEmpty()) {
            return;
        }
        int cols = s.header.size();
        int[] width = new int[cols];
        for (int c = 0; c < cols; c++) {
            width[c] = s.header.get(c).length();
            for (List<String> row : s.rows) {
                width[c] = Math.max(width[c], c < row.size() ? row.get(c).length() : 0);
            }
        }
        line(b, s.header, width);
        for (List<String> row : s.rows) {
            line(b, row, width);
        }
    }

    private static void line(StringBuilder b, List<String> cells, int[] width) {
        StringBuilder l = new StringBuilder("  ");
        for (int c = 0; c < width.length; c++) {
            String v = c < cells.size() ? cells.get(c) : "";
            l.append(v);
            if (c < width.length - 1) {
                l.append(" ".repeat(width[c] - v.length() + 2));
            }
        }
        b.append(l.toString().stripTrailing()).append('\n');
    }
}
