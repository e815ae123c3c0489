package io.memgov.agent.report;

import io.memgov.runtime.Fields;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The report as one self-contained HTML page: inline CSS, an inline SVG timeline per tier (its use
 * at the start, at every report and at the summary, against its limit, with spills and limit events
 * marked), and the same tables as the text report. No script, no external resource.
 */
final class HtmlReport {
    private HtmlReport() {
    }

    static final int W = 960;
    static final int H = 240;
    static final int LEFT = 84;
    static final int RIGHT = 24;
    static final int TOP = 22;
    static final int BOTTOM = 34;
    /** Spill events drawn one tick each up to this many per chart; more are drawn as {@link #BINS} bars. */
    static final int MAX_TICKS = 2000;
    static final int BINS = 200;

    static String render(LogReader.ParsedLog log, List<RunReport> runs) {
        StringBuilder b = new StringBuilder(64 * 1024);
        head(b, log.file.getFileName() == null ? log.file.toString() : log.file.getFileName().toString());
        b.append("<h1>memgov report</h1>\n<p class=\"meta\">").append(esc(log.file.toString())).append(" (")
                .append(esc(log.format())).append(" format, ").append(log.events()).append(" events in ")
                .append(log.lines).append(" lines")
                .append(log.otherLines > 0 ? ", " + log.otherLines + " other lines skipped" : "")
                .append(runs.size() > 1 ? ", " + runs.size() + " runs" : "").append(")</p>\n");
        for (String w : TextReport.allWarnings(log, runs)) {
            b.append("<div class=\"warn\">Warning: ").append(esc(w)).append("</div>\n");
        }
        int n = 0;
        for (RunReport r : runs) {
            n++;
            b.append("<section class=\"run\" id=\"run-").append(n).append("\">\n");
            if (runs.size() > 1) {
                b.append("<h2>Run ").append(n).append(" of ").append(runs.size()).append("</h2>\n");
            }
            for (String h : r.headline) {
                b.append("<p class=\"meta\">").append(esc(h)).append("</p>\n");
            }
            b.append("<h2>Timeline</h2>\n");
            charts(b, r, n);
            for (Section s : r.sections) {
                section(b, s);
            }
            b.append("</section>\n");
        }
        b.append("</body></html>\n");
        return b.toString();
    }

    /** The page's head: doctype, title and the inline style sheet; the body is opened. */
    static void head(StringBuilder b, String title) {
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>memgov report: ")
                .append(esc(title))
                .append("</title>\n<style>\n")
                .append("body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d2330;background:#fff}\n")
                .append("h1{font-size:20px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #ccd}")
                .append("h3{font-size:15px;margin:18px 0 4px}\n")
                .append(".meta{color:#556;margin:2px 0}.warn{background:#fff4d6;border:1px solid #e0b040;padding:6px 10px;margin:8px 0}\n")
                .append("table{border-collapse:collapse;margin:4px 0 4px}th,td{border:1px solid #d4d8e2;padding:3px 8px;text-align:left;")
                .append("font-variant-numeric:tabular-nums}th{background:#eef1f7}\n")
                .append("ul.notes{margin:4px 0 0;padding-left:20px;color:#445}\n")
                .append("svg.chart{display:block;margin:6px 0 2px;background:#fbfcfe;border:1px solid #e2e6ee}\n")
                .append("svg .grid{stroke:#e3e7ef;stroke-width:1}svg .axis{stroke:#889;stroke-width:1}\n")
                .append("svg text{font:11px sans-serif;fill:#556}svg .ttl{font:bold 13px sans-serif;fill:#1d2330}\n")
                .append("svg .used{fill:none;stroke:#2f6fd6;stroke-width:2}svg .rss{fill:none;stroke:#7b3fb5;stroke-width:1.5;stroke-dasharray:2 2}svg .area{fill:#2f6fd6;fill-opacity:.12;stroke:none}\n")
                .append("svg .limit{stroke:#d2332f;stroke-width:1.5;stroke-dasharray:6 4}svg .limitlbl{fill:#d2332f}\n")
                .append("svg .spill{stroke:#f08c00;stroke-width:1.5}svg .spillcount{fill:#f08c00}\n")
                .append("svg .limit-hit{fill:#d2332f}svg .peak{fill:#1d2330}\n")
                .append(".legend span{display:inline-block;margin-right:16px}.sw{display:inline-block;width:18px;height:3px;")
                .append("vertical-align:middle;margin-right:5px}\n")
                .append("</style></head><body>\n");
    }

    /** One titled table with its notes. */
    static void section(StringBuilder b, Section s) {
        b.append("<h2>").append(esc(s.title)).append("</h2>\n");
        if (!s.rows.isEmpty()) {
            b.append("<table><thead><tr>");
            for (String h : s.header) {
                b.append("<th>").append(esc(h)).append("</th>");
            }
            b.append("</tr></thead><tbody>\n");
            for (List<String> row : s.rows) {
                b.append("<tr>");
                for (String c : row) {
                    b.append("<td>").append(esc(c)).append("</td>");
                }
                b.append("</tr>\n");
            }
            b.append("</tbody></table>\n");
        }
        if (!s.notes.isEmpty()) {
            b.append("<ul class=\"notes\">");
            for (String note : s.notes) {
                b.append("<li>").append(esc(note)).append("</li>");
            }
            b.append("</ul>\n");
        }
    }

    /** The HOST timeline of one run alone (the multi-JVM page draws one per JVM). */
    static void hostChart(StringBuilder b, RunReport r, int runNo) {
        List<Sample> samples = samples(r.run);
        if (samples.isEmpty()) {
            b.append("<p class=\"meta\">No timeline: the run has no timed start, report or summary event.</p>\n");
            return;
        }
        chart(b, r, runNo, "host", samples, timeSpan(r, samples), maxUsed(samples, "host"), r.limitOf("host"));
    }

    /** The time axis's end: the last sample, limit event or spill of the run (ms since it began, at least 1). */
    private static double timeSpan(RunReport r, List<Sample> samples) {
        double tMax = 1;
        for (Sample s : samples) {
            tMax = Math.max(tMax, s.t);
        }
        for (LogEvent e : r.run.events) {
            if (e.time != null && e.name.equals("limit")) {
                tMax = Math.max(tMax, r.run.at(e.time));
            }
        }
        Moves sp = r.run.spills;
        if (sp.count > 0 && sp.time((int) sp.count - 1) != null) {
            tMax = Math.max(tMax, r.run.at(sp.time((int) sp.count - 1)));
        }
        return tMax;
    }

    private static long maxUsed(List<Sample> samples, String tier) {
        long maxUsed = 0;
        for (Sample s : samples) {
            maxUsed = Math.max(maxUsed, s.used(tier));
        }
        return maxUsed;
    }

    /** A sample of the tiers' use: at the start (all 0), at every report, at the summary. */
    static final class Sample {
        final double t;
        final LogEvent e;

        Sample(double t, LogEvent e) {
            this.t = t;
            this.e = e;
        }

        long used(String tier) {
            return e.name.equals("start") ? 0 : Math.max(0, e.num(tier + Fields.USED, 0));
        }
    }

    static List<Sample> samples(Run run) {
        List<Sample> out = new ArrayList<>();
        for (LogEvent e : run.events) {
            if (e.time != null && (e.name.equals("start") || e.name.equals("report") || e.name.equals("summary"))) {
                out.add(new Sample(run.at(e.time), e));
            }
        }
        return out;
    }

    private static void charts(StringBuilder b, RunReport r, int runNo) {
        List<Sample> samples = samples(r.run);
        if (samples.isEmpty()) {
            b.append("<p class=\"meta\">No timeline: the run has no timed start, report or summary event.</p>\n");
            return;
        }
        double tMax = timeSpan(r, samples);
        int charts = 0;
        for (String tier : RunReport.TIERS) {
            long maxUsed = maxUsed(samples, tier);
            long limit = r.limitOf(tier);
            if (!tier.equals("host") && maxUsed == 0 && limit < 0) {
                continue;
            }
            chart(b, r, runNo, tier, samples, tMax, maxUsed, limit);
            charts++;
        }
        b.append("<p class=\"legend meta\"><span><i class=\"sw\" style=\"background:#2f6fd6\"></i>use</span>")
                .append("<span><i class=\"sw\" style=\"background:#7b3fb5\"></i>process RSS (dotted, in HOST's")
                .append(" chart when the log has it)</span>")
                .append("<span><i class=\"sw\" style=\"background:#d2332f\"></i>limit (dashed)</span>")
                .append("<span><i class=\"sw\" style=\"background:#f08c00\"></i>spill (a tick per spill event,")
                .append(" else a bar per report interval with spills)</span>")
                .append("<span><b style=\"color:#d2332f\">&#9679;</b> limit met (limit event)</span>")
                .append("<span><b>&#9679;</b> highest sampled use</span><span>")
                .append(charts).append(" chart").append(charts == 1 ? "" : "s")
                .append(", DEVICE and DISK drawn when used or limited</span></p>\n");
    }

    private static void chart(StringBuilder b, RunReport r, int runNo, String tier, List<Sample> samples, double tMax,
                              long maxUsed, long limit) {
        long peak = Math.max(maxUsed, r.fin(tier + Fields.PEAK));
        List<Sample> rss = new ArrayList<>();
        long maxRss = -1;
        if (tier.equals("host")) { // the process's RSS beside governed HOST use: what a container limit meets
            for (Sample s : samples) {
                if (s.e.num(Fields.RSS, -1) >= 0) {
                    rss.add(s);
                    maxRss = Math.max(maxRss, s.e.num(Fields.RSS, -1));
                }
            }
        }
        double top = Math.max(Math.max(peak, limit), maxRss) * 1.06;
        if (top <= 0) {
            top = 1 << 20;
        }
        double step = niceStep(top / 4);
        int ticks = (int) Math.ceil(top / step);
        double yMax = step * ticks;
        final double ym = yMax;
        int pw = W - LEFT - RIGHT;
        int ph = H - TOP - BOTTOM;
        java.util.function.DoubleUnaryOperator x = t -> LEFT + t / tMax * pw;
        java.util.function.DoubleUnaryOperator y = v -> TOP + ph - v / ym * ph;
        String title = tier.toUpperCase(Locale.ROOT);
        b.append("<h3>").append(title).append("</h3>\n");
        b.append("<svg class=\"chart\" id=\"chart-").append(runNo).append('-').append(tier).append("\" data-tier=\"").append(tier)
                .append("\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(H)
                .append("\" viewBox=\"0 0 ").append(W).append(' ').append(H).append("\" role=\"img\" aria-label=\"")
                .append(title).append(" use over time\">\n");
        b.append("<text class=\"ttl\" x=\"").append(LEFT).append("\" y=\"15\">").append(title)
                .append(" use (peak ").append(esc(Fmt.human(peak))).append(limit >= 0 ? ", limit " + esc(Fmt.human(limit)) : ", no limit")
                .append(")</text>\n");
        for (int i = 0; i <= ticks; i++) {
            double v = step * i;
            double yy = y.applyAsDouble(v);
            b.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" x2=\"").append(W - RIGHT).append("\" y1=\"")
                    .append(f(yy)).append("\" y2=\"").append(f(yy)).append("\"/>")
                    .append("<text x=\"").append(LEFT - 6).append("\" y=\"").append(f(yy + 4))
                    .append("\" text-anchor=\"end\">").append(esc(Fmt.human((long) v))).append("</text>\n");
        }
        for (int i = 0; i <= 5; i++) {
            double t = tMax * i / 5;
            double xx = x.applyAsDouble(t);
            b.append("<line class=\"grid\" x1=\"").append(f(xx)).append("\" x2=\"").append(f(xx)).append("\" y1=\"")
                    .append(TOP).append("\" y2=\"").append(TOP + ph).append("\"/>")
                    .append("<text x=\"").append(f(xx)).append("\" y=\"").append(TOP + ph + 16)
                    .append("\" text-anchor=\"middle\">").append(String.format(Locale.ROOT, "%.2f s", t / 1000))
                    .append("</text>\n");
        }
        b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(W - RIGHT).append("\" y1=\"")
                .append(TOP + ph).append("\" y2=\"").append(TOP + ph).append("\"/>\n");
        StringBuilder pts = new StringBuilder();
        for (Sample s : samples) {
            pts.append(pts.length() == 0 ? "" : " ").append(f(x.applyAsDouble(s.t))).append(',')
                    .append(f(y.applyAsDouble(s.used(tier))));
        }
        double x0 = x.applyAsDouble(samples.get(0).t);
        double xn = x.applyAsDouble(samples.get(samples.size() - 1).t);
        b.append("<polygon class=\"area\" points=\"").append(f(x0)).append(',').append(TOP + ph).append(' ')
                .append(pts).append(' ').append(f(xn)).append(',').append(TOP + ph).append("\"/>\n");
        b.append("<polyline class=\"used\" data-tier=\"").append(tier).append("\" data-points=\"").append(samples.size())
                .append("\" points=\"").append(pts).append("\"><title>").append(title).append(" use: ")
                .append(samples.size()).append(" samples (start, reports, summary)</title></polyline>\n");
        if (!rss.isEmpty()) {
            StringBuilder rp = new StringBuilder();
            for (Sample s : rss) {
                rp.append(rp.length() == 0 ? "" : " ").append(f(x.applyAsDouble(s.t))).append(',')
                        .append(f(y.applyAsDouble(s.e.num(Fields.RSS, 0))));
            }
            b.append("<polyline class=\"rss\" data-points=\"").append(rss.size()).append("\" points=\"").append(rp)
                    .append("\"><title>process RSS: highest sampled ").append(esc(Fmt.bytes(maxRss)))
                    .append(" (reports, summary)</title></polyline>\n");
        }
        if (limit >= 0) {
            double ly = y.applyAsDouble(limit);
            b.append("<line class=\"limit\" data-limit=\"").append(limit).append("\" x1=\"").append(LEFT)
                    .append("\" x2=\"").append(W - RIGHT).append("\" y1=\"").append(f(ly)).append("\" y2=\"")
                    .append(f(ly)).append("\"><title>limit ").append(esc(Fmt.bytes(limit))).append("</title></line>")
                    .append("<text class=\"limitlbl\" x=\"").append(W - RIGHT - 4).append("\" y=\"").append(f(ly - 4))
                    .append("\" text-anchor=\"end\">limit ").append(esc(Fmt.human(limit))).append("</text>\n");
        }
        if (maxUsed > 0) {
            for (Sample s : samples) {
                if (s.used(tier) == maxUsed) {
                    b.append("<circle class=\"peak\" cx=\"").append(f(x.applyAsDouble(s.t))).append("\" cy=\"")
                            .append(f(y.applyAsDouble(maxUsed))).append("\" r=\"3.5\"><title>highest sampled use ")
                            .append(esc(Fmt.bytes(maxUsed))).append(" at ").append(Fmt.at(s.t)).append("</title></circle>\n");
                    break;
                }
            }
        }
        int marks = 0;
        double base = TOP + ph;
        for (LogEvent e : r.run.events) {
            if (e.time != null && e.name.equals("limit") && tier.equalsIgnoreCase(e.fields.getOrDefault("tier", ""))) {
                b.append("<circle class=\"limit-hit\" cx=\"").append(f(x.applyAsDouble(r.run.at(e.time))))
                        .append("\" cy=\"").append(f(y.applyAsDouble(Math.max(0, e.num("used", 0))))).append("\" r=\"4\"><title>limit met at ")
                        .append(Fmt.at(r.run.at(e.time))).append(": requested ").append(esc(Fmt.bytes(e.num("requested", 0))))
                        .append(", used ").append(esc(Fmt.bytes(e.num("used", 0)))).append(", action ")
                        .append(esc(e.fields.getOrDefault("action", "?"))).append("</title></circle>\n");
            }
        }
        int tierIndex = Moves.tierIndex(tier);
        Moves sp = r.run.spills;
        int mine = 0;
        for (int i = 0; i < sp.count; i++) {
            if (sp.fromTier[i] == tierIndex && sp.time(i) != null) {
                mine++;
            }
        }
        if (mine > 0 && mine <= MAX_TICKS) {
            for (int i = 0; i < sp.count; i++) {
                if (sp.fromTier[i] != tierIndex || sp.time(i) == null) {
                    continue;
                }
                double t = r.run.at(sp.time(i));
                double xx = x.applyAsDouble(t);
                b.append("<line class=\"spill\" x1=\"").append(f(xx)).append("\" x2=\"").append(f(xx))
                        .append("\" y1=\"").append(f(base)).append("\" y2=\"").append(f(base - 12)).append("\"><title>spill of ")
                        .append(esc(Fmt.bytes(sp.size[i]))).append(" at ").append(Fmt.at(t))
                        .append(sp.us[i] >= 0 ? ", " + sp.us[i] + " us" : "").append("</title></line>\n");
                marks++;
            }
        } else if (mine > 0) {
            // too many to draw one by one: a bar per stretch of the time axis, as high as its share of spills
            int bins = BINS;
            long[] count = new long[bins];
            long[] bytes = new long[bins];
            long most = 1;
            for (int i = 0; i < sp.count; i++) {
                if (sp.fromTier[i] != tierIndex || sp.time(i) == null) {
                    continue;
                }
                int k = (int) Math.min(bins - 1, Math.max(0, Math.floor(r.run.at(sp.time(i)) / tMax * bins)));
                count[k]++;
                bytes[k] += sp.size[i];
                most = Math.max(most, count[k]);
            }
            for (int k = 0; k < bins; k++) {
                if (count[k] == 0) {
                    continue;
                }
                double x1 = x.applyAsDouble(tMax * k / bins);
                double hgt = 3 + 17.0 * count[k] / most;
                b.append("<rect class=\"spill\" data-spills=\"").append(count[k]).append("\" x=\"").append(f(x1))
                        .append("\" y=\"").append(f(base - hgt)).append("\" width=\"").append(f((double) pw / bins))
                        .append("\" height=\"").append(f(hgt)).append("\" fill=\"#f08c00\" fill-opacity=\".55\" stroke=\"none\"><title>")
                        .append(count[k]).append(" spills (").append(esc(Fmt.bytes(bytes[k]))).append(") between ")
                        .append(Fmt.at(tMax * k / bins)).append(" and ").append(Fmt.at(tMax * (k + 1) / bins))
                        .append("</title></rect>\n");
                marks++;
            }
        }
        if (marks == 0 && tier.equals("host")) {
            // no spill events (logged at debug): a bar per report interval in which the spill counter grew
            long prev = 0;
            long prevBytes = 0;
            double prevT = 0;
            for (Sample s : samples) {
                if (s.e.name.equals("start")) {
                    continue;
                }
                long c = s.e.num(Fields.SPILLS, prev);
                long by = s.e.num(Fields.SPILL_BYTES, prevBytes);
                if (c > prev) {
                    double x1 = x.applyAsDouble(prevT);
                    double x2 = x.applyAsDouble(s.t);
                    b.append("<rect class=\"spill\" data-spills=\"").append(c - prev).append("\" x=\"").append(f(x1))
                            .append("\" y=\"").append(f(base - 10)).append("\" width=\"").append(f(Math.max(1.5, x2 - x1)))
                            .append("\" height=\"10\" fill=\"#f08c00\" fill-opacity=\".55\" stroke=\"none\"><title>")
                            .append(c - prev).append(" spills (").append(esc(Fmt.bytes(by - prevBytes))).append(") between ")
                            .append(Fmt.at(prevT)).append(" and ").append(Fmt.at(s.t)).append("</title></rect>\n");
                    marks++;
                }
                prev = c;
                prevBytes = by;
                prevT = s.t;
            }
        }
        b.append("</svg>\n");
    }

    /**
     * A round step in bytes near {@code raw} (a quarter of the axis): 1, 2, 2.5 or 5 times a power of ten
     * of the unit (KiB, MiB, GiB...) of the axis' top, so that a 1 MiB axis goes by 0.5 MiB, not 250 KiB.
     */
    static double niceStep(double raw) {
        double unit = 1;
        while (raw * 4 / unit >= 1024) {
            unit *= 1024;
        }
        double v = raw / unit;
        double p = Math.pow(10, Math.floor(Math.log10(Math.max(v, 1e-9))));
        double m = v / p;
        double nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
        return nice * p * unit;
    }

    static String f(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<': b.append("&lt;"); break;
                case '>': b.append("&gt;"); break;
                case '&': b.append("&amp;"); break;
                case '"': b.append("&quot;"); break;
                case '\'': b.append("&#39;"); break;
                default: b.append(c);
            }
        }
        return b.toString();
    }
}
