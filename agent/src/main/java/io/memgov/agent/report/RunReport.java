package io.memgov.agent.report;

import io.memgov.runtime.Fields;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** The figures of one run, as titled tables: what both the text and the HTML report show. */
final class RunReport {
    static final String[] TIERS = {"host", "device", "disk"};
    static final Set<String> PROBLEMS = Set.of("config-error", "config-warning", "config-change", "ungoverned", "error",
            "disabled");
    static final int TOP = 10;

    final Run run;
    /** The figures at the end: the summary, else the last report; null when the run has neither. */
    final LogEvent last;
    final List<String> headline = new ArrayList<>();
    final List<String> warnings = new ArrayList<>();
    final List<Section> sections = new ArrayList<>();

    RunReport(Run run) {
        this.run = run;
        this.last = run.last();
        headline();
        if (last != null || run.start != null) {
            tiers();
            process();
            limits();
            spills();
            pool();
        }
        leaks();
        checkpoints();
        problems();
    }

    /** The number the run's end figures (summary, else last report) give for {@code key}; -1 if none. */
    long fin(String key) {
        return last == null ? -1 : last.num(key, -1);
    }

    String source() {
        if (last == null) {
            return "none";
        }
        return last == run.summary ? "summary" : "last report";
    }

    private void headline() {
        LogEvent s = run.start;
        if (s != null) {
            StringBuilder b = new StringBuilder("memgov ").append(s.fields.getOrDefault("version", "?"))
                    .append(", pid ").append(s.fields.getOrDefault("pid", "?"));
            if (s.has("frameworks")) {
                b.append(", frameworks ").append(s.get("frameworks"));
            }
            if (s.has("bridges")) {
                b.append(" (bridges ").append(s.get("bridges")).append(')');
            }
            if (s.has("on-limit")) {
                b.append(", on-limit=").append(s.get("on-limit"));
            }
            if (s.has("attach")) {
                b.append(", attach=").append(s.get("attach"));
            }
            if (s.has("role")) { // a Spark executor or driver
                b.append(", Spark ").append(s.get("role"));
                if ("executor".equals(s.get("role"))) {
                    b.append(' ').append(s.fields.getOrDefault("spark.executor.id", "?"));
                }
                b.append(" of ").append(s.fields.getOrDefault("spark.app.id", "?")).append(" on ")
                        .append(s.fields.getOrDefault("host", "?"));
            }
            headline.add(b.toString());
        } else {
            LogEvent d = first("disabled");
            headline.add(d != null ? "memgov " + d.fields.getOrDefault("version", "?") + ", pid "
                    + d.fields.getOrDefault("pid", "?") + ": disabled" : "no start event in this run");
        }
        if (run.begin() != null) {
            String dur = last != null && last.has(Fields.UPTIME_MS) ? last.get(Fields.UPTIME_MS) + " ms (uptime.ms)"
                    : String.format(Locale.ROOT, "%.0f ms", run.at(run.end()));
            headline.add("from " + run.begin() + " to " + run.end() + ", " + dur);
        }
        StringBuilder b = new StringBuilder().append(run.total).append(" events:");
        run.counts.forEach((k, v) -> b.append(' ').append(k).append(' ').append(v).append(','));
        b.setLength(b.length() - 1);
        headline.add(b.toString());
        if (run.summary == null) {
            if (run.terminal != null) {
                headline.add("nothing governed: the run ended at " + run.terminal.name);
            } else if (last != null) {
                warnings.add("no summary event" + pidOf() + ": the JVM did not exit normally (killed, crashed)"
                        + " or the log is cut; the figures are those of the last report, at "
                        + Fmt.at(run.at(last.time)));
            } else {
                warnings.add("no summary and no report event" + pidOf() + ": the JVM did not exit normally or"
                        + " the log is cut; no figures, only the events logged");
            }
        }
    }

    private String pidOf() {
        return run.start != null && run.start.has("pid") ? " for pid " + run.start.get("pid") : "";
    }

    private LogEvent first(String name) {
        for (LogEvent e : run.events) {
            if (e.name.equals(name)) {
                return e;
            }
        }
        return null;
    }

    /**
     * The first event that shows {@code tier}'s use at {@code peak}: a report or summary whose
     * {@code tier.peak} reached it, or a {@code limit} event of that tier whose {@code used} did.
     */
    private LogEvent peakSeen(String tier, long peak) {
        for (LogEvent e : run.events) {
            if ((e.name.equals("report") || e.name.equals("summary")) && e.num(tier + Fields.PEAK, -1) >= peak) {
                return e;
            }
            if (e.name.equals("limit") && tier.equalsIgnoreCase(e.fields.getOrDefault("tier", ""))
                    && e.num("used", -1) >= peak) {
                return e;
            }
        }
        return null;
    }

    long limitOf(String tier) {
        long l = fin(tier + Fields.LIMIT);
        if (l == -1 && run.start != null) {
            l = run.start.num(tier + Fields.LIMIT, -1);
        }
        return l;
    }

    private void tiers() {
        Section t = new Section("Memory by tier", "tier", "peak", "peak reached by", "used at end", "limit",
                "peak of limit");
        for (String tier : TIERS) {
            long peak = fin(tier + Fields.PEAK);
            long used = fin(tier + Fields.USED);
            long limit = limitOf(tier);
            String when = "-";
            if (peak > 0) {
                LogEvent seen = peakSeen(tier, peak);
                if (seen != null && seen.time != null) {
                    when = Fmt.at(run.at(seen.time)) + " (" + seen.name + ")";
                }
            }
            t.row(tier.toUpperCase(Locale.ROOT), peak < 0 ? "-" : Fmt.bytes(peak), when,
                    used < 0 ? "-" : Fmt.bytes(used), Fmt.bytes(limit),
                    limit > 0 && peak >= 0 ? Fmt.pct((double) peak / limit) : "-");
        }
        if (last != null) {
            StringBuilder fw = new StringBuilder();
            StringBuilder gpus = new StringBuilder();
            for (Map.Entry<String, String> f : last.fields.entrySet()) {
                String k = f.getKey();
                if (k.startsWith(Fields.HOST_PEAK_PREFIX)) {
                    fw.append(fw.length() == 0 ? "" : ", ").append(k.substring(Fields.HOST_PEAK_PREFIX.length())).append(' ')
                            .append(Fmt.bytes(last.num(k, 0)));
                } else if (k.matches("device\\.[0-9]+\\.peak")) {
                    gpus.append(gpus.length() == 0 ? "" : ", ").append("GPU ")
                            .append(k, Fields.DEVICE_PREFIX.length(), k.length() - Fields.PEAK.length()).append(' ')
                            .append(Fmt.bytes(last.num(k, 0)));
                }
            }
            if (fw.length() > 0) {
                t.note("HOST peak by framework: " + fw);
            }
            if (gpus.length() > 0) {
                t.note("DEVICE peak by GPU: " + gpus);
            }
            if (last.has(Fields.ALLOCATIONS)) {
                t.note("storages: " + fin(Fields.ALLOCATIONS) + " allocated, " + fin(Fields.RELEASES) + " released, "
                        + (last.has(Fields.LIVE) ? fin(Fields.LIVE) : fin(Fields.ALLOCATIONS) - fin(Fields.RELEASES)) + " live at end"
                        + (last.has(Fields.ALLOCATED_BYTES) ? "; " + Fmt.bytes(fin(Fields.ALLOCATED_BYTES)) + " allocated in all" : ""));
            }
            if (last.has("alloc.size.p50")) {
                t.note("allocation sizes (sampled): p50 " + Fmt.bytes(fin("alloc.size.p50")) + ", p99 "
                        + Fmt.bytes(fin("alloc.size.p99")) + ", max " + Fmt.bytes(fin("alloc.size.max")));
            }
            t.note("figures from the " + source() + (last.time != null ? " at " + Fmt.at(run.at(last.time)) : "")
                    + "; a peak is reached at or before the first report (or limit event) that shows it");
        } else {
            t.note("no report or summary event: no figures");
        }
        sections.add(t);
    }

    /** The highest {@code key} of all reports and the summary; -1 if none has it. */
    long highest(String key) {
        long max = -1;
        for (LogEvent e : run.events) {
            if (e.name.equals("report") || e.name.equals("summary")) {
                max = Math.max(max, e.num(key, -1));
            }
        }
        return max;
    }

    /**
     * Where the process's resident memory is (the {@code rss} ... {@code native.other} fields of the
     * reports and summary): what answers "RSS is 1.6 GiB, the heap 512 MiB: where is the rest?".
     */
    private void process() {
        if (last == null || !last.has(Fields.RSS)) {
            return;
        }
        Section t = new Section("Process memory", "memory", "at end", "highest", "of RSS at end", "what it is");
        long rss = fin(Fields.RSS);
        String[][] rows = {
                {Fields.RSS, "RSS", "resident memory of the process (VmRSS; highest: VmHWM)"},
                {Fields.HOST_USED, "governed HOST", "tensor memory memgov governs (with pooled buffers)"},
                {Fields.HEAP_USED, "Java heap used", "live and not yet collected objects"},
                {Fields.HEAP_COMMITTED, "Java heap committed", "what -Xmx lets the heap hold now"},
                {Fields.NONHEAP_COMMITTED, "Java non-heap", "metaspace, code cache"},
                {Fields.DIRECT_USED, "direct buffers", "ByteBuffer.allocateDirect (-XX:MaxDirectMemorySize)"},
                {Fields.NATIVE_OTHER, "native.other", "RSS none of the above explain: other native libraries,"
                        + " allocator slack, thread stacks, untracked framework memory"}};
        for (String[] r : rows) {
            long at = fin(r[0]);
            long high = r[0].equals(Fields.RSS) ? Math.max(fin(Fields.RSS_PEAK), highest(Fields.RSS)) : highest(r[0]);
            t.row(r[1], Fmt.bytes(at), Fmt.bytes(high), rss > 0 && at >= 0 ? Fmt.pct((double) at / rss) : "-", r[2]);
        }
        t.note("native.other = rss - heap.committed - nonheap.committed - direct.used - governed HOST (never"
                + " below 0): an estimate, low rather than high (heap pages not yet touched are committed but"
                + " not resident; DJL tensors over direct buffers count in both direct and HOST)");
        long container = run.start == null ? -1 : run.start.num("container.limit", -1);
        if (container > 0) {
            t.note("container memory limit " + Fmt.bytes(container) + ": highest RSS "
                    + Fmt.pct((double) Math.max(fin(Fields.RSS_PEAK), highest(Fields.RSS)) / container) + " of it");
        }
        sections.add(t);
    }

    /**
     * The {@code limit} events: at most one a second per tier says a limit was met (with its action and
     * {@code not.logged}), and at most one a second per tier says an allocation was refused
     * ({@code action=fail} with its {@code message}; older agents logged every refusal).
     */
    private void limits() {
        Section t = new Section("Limits met", "tier", "limit events", "actions", "refused", "first at", "last at",
                "largest request");
        Map<String, List<LogEvent>> byTier = new LinkedHashMap<>();
        List<LogEvent> refusals = new ArrayList<>();
        long notLogged = 0;
        long refusalsNotLogged = 0;
        for (LogEvent e : run.all("limit")) {
            byTier.computeIfAbsent(e.fields.getOrDefault("tier", "?"), k -> new ArrayList<>()).add(e);
            if (e.has("message")) {
                refusals.add(e);
                refusalsNotLogged += Math.max(0, e.num("not.logged", 0));
            } else {
                notLogged += Math.max(0, e.num("not.logged", 0));
            }
        }
        byTier.forEach((tier, es) -> {
            Map<String, Integer> actions = new TreeMap<>();
            long maxReq = 0;
            int refused = 0;
            for (LogEvent e : es) {
                if (e.has("message")) {
                    refused++;
                }
                actions.merge(e.fields.getOrDefault("action", "?"), 1, Integer::sum);
                maxReq = Math.max(maxReq, e.num("requested", 0));
            }
            StringBuilder a = new StringBuilder();
            actions.forEach((k, v) -> a.append(a.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
            t.row(tier.toUpperCase(Locale.ROOT), String.valueOf(es.size()), a.length() == 0 ? "-" : a.toString(),
                    String.valueOf(refused), Fmt.at(run.at(es.get(0).time)), Fmt.at(run.at(es.get(es.size() - 1).time)),
                    Fmt.bytes(maxReq));
        });
        if (byTier.isEmpty()) {
            t.note("no limit event: no allocation met a limit");
        }
        if (last != null && last.has(Fields.LIMIT_HITS) && (fin(Fields.LIMIT_HITS) > 0 || !byTier.isEmpty())) {
            t.note("limit met " + fin(Fields.LIMIT_HITS) + " times in all (limit.hits); "
                    + (run.all("limit").size() - refusals.size()) + " logged (at most one a second per tier; "
                    + notLogged + " not logged before them, counted in their not.logged)"
                    + (refusalsNotLogged > 0 ? "; refusals: " + refusals.size() + " logged, " + refusalsNotLogged
                    + " more not logged (at most one a second per tier, counted in their not.logged)" : ""));
        }
        if (last != null && last.has(Fields.FAILURES)) {
            t.note("failures: " + fin(Fields.FAILURES) + " allocations refused (OutOfMemoryError)");
        }
        for (LogEvent f : refusals) {
            t.note("refused at " + Fmt.at(run.at(f.time)) + ": " + f.get("message"));
        }
        sections.add(t);
    }

    private void spills() {
        Section t = new Section("Spills and restores", "", "count", "bytes", "total us", "mean us", "p50 us",
                "p99 us", "max us", "from");
        Moves spills = run.spills;
        Moves restores = run.restores;
        moveRow(t, "spills", Fields.SPILLS, Fields.SPILL_BYTES, Fields.SPILL_MICROS, spills, "spill");
        moveRow(t, "restores", Fields.RESTORES, Fields.RESTORE_BYTES, Fields.RESTORE_MICROS, restores, "restore");
        if (last != null && (last.has(Fields.OFFLOADS) || last.has(Fields.OFFLOAD_BYTES))) {
            t.row("offloads", String.valueOf(fin(Fields.OFFLOADS)), Fmt.bytes(fin(Fields.OFFLOAD_BYTES)), "-", "-", "-", "-",
                    "-", source());
        }
        if (last != null && last.has(Fields.SPILLS_CLEAN) && fin(Fields.SPILLS_CLEAN) > 0) {
            t.note(fin(Fields.SPILLS_CLEAN) + " of the spills wrote nothing, " + Fmt.bytes(fin(Fields.SPILL_CLEAN_BYTES)) + " in "
                    + fin(Fields.SPILL_CLEAN_MICROS) + " us (spills.clean: the tensor was unchanged since its restore, so the"
                    + " file kept from its last spill still held its bytes)");
        }
        for (Object[] kv : new Object[][] {{"spill", spills}, {"restore", restores}}) {
            Moves m = (Moves) kv[1];
            if (m.count > 0) {
                StringBuilder r = new StringBuilder();
                m.routes.forEach((k, v) -> r.append(r.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
                t.note(m.count + " " + kv[0] + " events logged (" + r + "), " + Fmt.bytes(m.bytes));
            }
        }
        if (spills.count == 0 && restores.count == 0 && last != null && fin(Fields.SPILLS) > 0) {
            t.note("spill and restore events are logged at debug (log.level=debug); figures from the "
                    + source() + "'s counters" + (last.has("spill.micros.p50") ? " and latency percentiles" : ""));
        }
        if (last != null && fin(Fields.DISK_FAILURES) > 0) {
            t.note("disk.failures: " + fin(Fields.DISK_FAILURES) + " spills given up on a disk error");
        }
        sections.add(t);
    }

    private void moveRow(Section t, String label, String countKey, String bytesKey, String microsKey, Moves ev,
                         String eventName) {
        long count;
        long bytes;
        long micros;
        String from;
        if (last != null && last.has(countKey)) {
            count = fin(countKey);
            bytes = fin(bytesKey);
            micros = fin(microsKey);
            from = source();
            if (ev.count > 0 && ev.count != count) {
                t.note(ev.count + " " + eventName + " events logged but " + countKey + "=" + count + " in the "
                        + source());
            }
        } else if (ev.count > 0) {
            count = ev.count;
            bytes = ev.bytes;
            micros = ev.nLatencies == 0 ? -1 : ev.micros;
            from = eventName + " events";
        } else {
            t.row(label, "-", "-", "-", "-", "-", "-", "-", "none");
            return;
        }
        String mean = count > 0 && micros >= 0 ? Fmt.micros((double) micros / count) : "-";
        String p50 = "-";
        String p99 = "-";
        String max = "-";
        if (ev.nLatencies > 0) {
            p50 = String.valueOf(ev.pct(0.50));
            p99 = String.valueOf(ev.pct(0.99));
            max = String.valueOf(ev.pct(1.0));
        } else if (count > 0 && last != null && last.has(microsKey + Fields.P50)) {
            // the governor's own histogram (3 significant digits)
            p50 = String.valueOf(fin(microsKey + Fields.P50));
            p99 = String.valueOf(fin(microsKey + Fields.P99));
            max = String.valueOf(fin(microsKey + Fields.MAX));
        }
        t.row(label, String.valueOf(count), Fmt.bytes(bytes), micros < 0 ? "-" : String.valueOf(micros), mean,
                p50, p99, max, from);
    }

    private void pool() {
        Section t = new Section("Pool", "hits", "misses", "hit rate");
        if (last == null || !(last.has(Fields.POOL_HITS) || last.has(Fields.POOL_MISSES))) {
            t.note("no pool figures in the log");
        } else {
            long h = Math.max(0, fin(Fields.POOL_HITS));
            long m = Math.max(0, fin(Fields.POOL_MISSES));
            t.row(String.valueOf(h), String.valueOf(m), h + m == 0 ? "n/a" : Fmt.pct((double) h / (h + m)));
            if (h + m == 0) {
                t.note("no pool hit or miss: the pool was off or served nothing");
            }
            if (last.has(Fields.POOL_BYTES)) {
                t.note("idle in the pool at the " + source() + ": " + Fmt.bytes(fin(Fields.POOL_BYTES)) + " (pool.bytes, part of host.used)");
            }
            if (last.has(Fields.POOL_DROPPED)) {
                t.note("idle buffers freed by trimming: " + fin(Fields.POOL_DROPPED) + " (pool.dropped)");
            }
            for (Map.Entry<String, String> f : last.fields.entrySet()) {
                String k = f.getKey();
                if (k.startsWith("pool.") && !Set.of(Fields.POOL_HITS, Fields.POOL_MISSES, Fields.POOL_BYTES, Fields.POOL_DROPPED).contains(k)) {
                    t.note(k + "=" + f.getValue());
                }
            }
        }
        sections.add(t);
    }

    private static final class Site {
        long count;
        long bytes;
        final Set<String> frameworks = new java.util.TreeSet<>();
    }

    private static String bytesOf(String raw) {
        try {
            return Fmt.bytes(Long.parseLong(raw));
        } catch (NumberFormatException e) {
            return raw;
        }
    }

    /** Site list fields of report/summary: {@code site:bytes;...} or (live.sites) {@code site:tensors:bytes;...}. */
    static final Set<String> SITE_LISTS = Set.of(Fields.TOP_ALLOCATED, Fields.TOP_LIVE, Fields.LIVE_SITES, Fields.LEAK_SITES);
    static final Set<String> LEAK_FIELDS = Set.of(Fields.LEAKS, Fields.LEAK_BYTES);

    /**
     * Leaks and allocation sites: the site lists of the last report or summary ({@code top.allocated},
     * {@code live.sites} (else {@code top.live}), {@code leak.sites}), then the {@code leak} events
     * (and any other event naming a {@code site}) grouped by site, largest first.
     */
    private void leaks() {
        Section t = new Section("Leaks and allocation sites", "what", "site", "count", "bytes", "frameworks");
        boolean summary = last != null && last == run.summary;
        if (last != null) {
            siteList(t, "allocated", last.get(Fields.TOP_ALLOCATED), false);
            if (last.has(Fields.LIVE_SITES)) {
                siteList(t, summary ? "live at exit" : "live", last.get(Fields.LIVE_SITES), true);
            } else {
                siteList(t, summary ? "live at exit" : "live", last.get(Fields.TOP_LIVE), false);
            }
            siteList(t, "leaked", last.get(Fields.LEAK_SITES), false);
        }
        Map<String, Site> sites = new LinkedHashMap<>();
        long leakEvents = 0;
        long leakEventBytes = 0;
        long leaksNotLogged = 0;
        for (LogEvent e : run.events) {
            boolean leak = e.name.equals("leak");
            if (!leak && !e.has("site")) {
                continue;
            }
            if (leak) {
                leakEvents++;
                leakEventBytes += Math.max(0, e.num("bytes", 0));
                leaksNotLogged += Math.max(0, e.num("not.logged", 0));
            }
            String site = e.fields.getOrDefault("site", "");
            Site s = sites.computeIfAbsent(e.name + "\u0000" + (site.isEmpty() ? "(no site)" : site), k -> new Site());
            s.count += Math.max(1, e.num("count", e.num("allocations", 1)));
            s.bytes += Math.max(0, e.num("bytes", 0));
            if (e.has("framework")) {
                s.frameworks.add(e.get("framework"));
            }
        }
        List<Map.Entry<String, Site>> top = new ArrayList<>(sites.entrySet());
        top.sort((a, b) -> a.getValue().bytes != b.getValue().bytes
                ? Long.compare(b.getValue().bytes, a.getValue().bytes) : Long.compare(b.getValue().count, a.getValue().count));
        for (int i = 0; i < top.size() && i < TOP; i++) {
            String[] k = top.get(i).getKey().split("\u0000", 2);
            Site s = top.get(i).getValue();
            t.row(k[0].equals("leak") ? "leak events" : k[0] + " events", k[1], String.valueOf(s.count),
                    Fmt.bytes(s.bytes), String.join(",", s.frameworks));
        }
        if (top.size() > TOP) {
            t.note((top.size() - TOP) + " more sites of events not shown");
        }
        if (last != null && last.has(Fields.LEAKS)) {
            t.note("leaks: " + fin(Fields.LEAKS) + " tensors garbage-collected without close, "
                    + Fmt.bytes(Math.max(0, fin(Fields.LEAK_BYTES))) + " (leaks, leak.bytes of the " + source() + ")");
        }
        if (leakEvents > 0) {
            t.note(leakEvents + " leak events logged, " + Fmt.bytes(leakEventBytes)
                    + (leaksNotLogged > 0 ? "; " + leaksNotLogged + " more not logged (not.logged)" : ""));
        }
        boolean byBytes = last != null && last.has(Fields.SITES_SAMPLE_BYTES);
        if (run.start != null && run.start.has("sites") || byBytes) {
            String mode = run.start != null && run.start.has("sites") ? run.start.get("sites") : "sample";
            String n = last != null ? last.fields.get(Fields.SITES_SAMPLE_BYTES) : null;
            t.note("memgov.sites=" + mode + ("sample".equals(mode)
                    ? n != null
                    ? ": sampled by bytes, one sample every " + bytesOf(n) + " on average (sites.sample.bytes), each counted"
                            + " for the bytes it stands for: a site's bytes are an estimate, within about sqrt(N/B) of B"
                            + " (N the mean gap, B the site's bytes: 10% at B = 100 N)"
                    : ": about one allocation in 128 (and every one of 16 MiB or more) records its site; the others are 'unsampled'"
                            + " (an older agent)"
                    : "off".equals(mode) ? ": no allocation records its site" : ""));
        }
        if (last != null) {
            for (Map.Entry<String, String> f : last.fields.entrySet()) {
                String k = f.getKey();
                if ((k.contains("leak") || k.contains("site")) && !SITE_LISTS.contains(k) && !LEAK_FIELDS.contains(k)
                        && !k.equals(Fields.SITES_SAMPLE_BYTES)) {
                    t.note(k + "=" + f.getValue() + " (" + source() + ")");
                }
            }
        }
        if (t.rows.isEmpty() && t.notes.isEmpty()) {
            t.note("no leak event and no allocation site in the log");
        }
        sections.add(t);
    }

    /** Rows for {@code site:bytes;...} (or {@code site:tensors:bytes;...}); a site may itself hold ':'. */
    private static void siteList(Section t, String what, String list, boolean withCount) {
        if (list == null || list.isEmpty()) {
            return;
        }
        int shown = 0;
        String[] entries = list.split(";");
        for (String entry : entries) {
            if (entry.isEmpty()) {
                continue;
            }
            if (shown == TOP) {
                t.note((entries.length - TOP) + " more " + what + " sites not shown");
                break;
            }
            int c = entry.lastIndexOf(':');
            long bytes = c < 0 ? -1 : parse(entry.substring(c + 1));
            String site = c < 0 ? entry : entry.substring(0, c);
            long count = -1;
            if (withCount && c > 0) {
                int c2 = site.lastIndexOf(':');
                count = c2 < 0 ? -1 : parse(site.substring(c2 + 1));
                if (count >= 0) {
                    site = site.substring(0, c2);
                }
            }
            if (bytes < 0) {
                t.row(what, entry, "-", "-", "");
            } else {
                t.row(what, site, count < 0 ? "-" : String.valueOf(count), Fmt.bytes(bytes), "");
            }
            shown++;
        }
    }

    private static long parse(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void checkpoints() {
        Section t = new Section("Checkpoints", "label", "at", "host.used", "device.used", "disk.used", "live");
        for (LogEvent e : run.events) {
            if (e.name.equals("report") && e.has(Fields.LABEL)) {
                t.row(e.get(Fields.LABEL), Fmt.at(run.at(e.time)), Fmt.bytes(e.num(Fields.HOST_USED, -1)),
                        Fmt.bytes(e.num(Fields.DEVICE_USED, -1)), Fmt.bytes(e.num(Fields.DISK_USED, -1)),
                        e.has(Fields.LIVE) ? e.get(Fields.LIVE) : "-");
            }
        }
        if (!t.rows.isEmpty()) {
            sections.add(t);
        }
    }

    private void problems() {
        Section t = new Section("Configuration and errors", "at", "level", "event", "details");
        for (LogEvent e : run.events) {
            boolean waiting = e.name.equals("bridge") && "waiting".equals(e.get("status"));
            if (!PROBLEMS.contains(e.name) && !waiting) {
                continue;
            }
            StringBuilder d = new StringBuilder();
            for (Map.Entry<String, String> f : e.fields.entrySet()) {
                if (f.getKey().equals("message")) {
                    continue;
                }
                d.append(d.length() == 0 ? "" : " ").append(f.getKey()).append('=').append(f.getValue());
            }
            if (e.has("message")) {
                d.append(d.length() == 0 ? "" : ": ").append(e.get("message"));
            }
            t.row(e.time == null ? "-" : Fmt.at(run.at(e.time)), e.level == null ? "-" : e.level, e.name,
                    d.toString().replace('\n', ' '));
        }
        if (t.rows.isEmpty()) {
            t.note("none: no config-error, config-warning, config-change, ungoverned or error event");
        }
        sections.add(t);
    }
}
