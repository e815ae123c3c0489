package io.memgov.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The spill benchmarks: memgov's spill and restore throughput against the bandwidth {@code dd} gets
 * from the same directory in the same run, sequential passes over a working set twice the HOST limit
 * against the same workload without the agent, and the process RSS of a working set four times the
 * limit. Every workload runs in a fresh JVM ({@code io.memgov.examples.SpillBenchWorkload}). It is a
 * report, not a test: it exits 0 whether targets pass or fail (2 only when a run could not be measured).
 *
 * <p>Usage, from the repository root (or with {@code -Dmemgov.root=DIR}):
 * {@code java -cp benchmarks/target/memgov-benchmarks.jar io.memgov.bench.SpillBench [--quick] [djl|nd4j]}
 * (DJL tensors by default; {@code nd4j}: the same passes over ND4J arrays).
 */
public final class SpillBench {
    private static final long RUN_TIMEOUT_MIN = 10;
    private static final String WORKLOAD = "io.memgov.examples.SpillBenchWorkload";
    /** 32 arrays of 4 MiB, 5 passes: a 128 MiB working set (then the framework, djl or nd4j). */
    private static List<String> ARGS = Arrays.asList("32", "4", "5", "djl");
    private static final String LIMIT_2X = "64m";
    private static final String LIMIT_4X = "32m";
    private static final long DD_BLOCK = 4L << 20;
    private static final int DD_COUNT = 256;
    private static final double TARGET = 0.5;

    private SpillBench() {
    }

    /** What one workload run printed, and the agent's summary when it ran under the agent. */
    private static final class Result {
        final Map<String, String> out = new LinkedHashMap<>();
        final Map<String, Long> summary = new LinkedHashMap<>();

        double num(String key) {
            return Double.parseDouble(out.get(key));
        }

        long sum(String key) {
            Long v = summary.get(key);
            return v == null ? -1 : v;
        }
    }

    /** A child run (or dd) that produced no figure. */
    private static final class RunFailed extends Exception {
        private static final long serialVersionUID = 1L;

        RunFailed(String message) {
            super(message);
        }
    }

    public static void main(String[] argv) throws Exception {
        boolean quick = false;
        for (String a : argv) {
            if (a.equals("--quick")) {
                quick = true;
            } else if (a.equals("djl") || a.equals("nd4j")) {
                ARGS = Arrays.asList("32", "4", "5", a);
            } else if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: SpillBench [--quick] [djl|nd4j]   (-Dmemgov.root=DIR, default: the working directory)");
                return;
            } else {
                System.err.println("unknown argument " + a);
                System.exit(2);
            }
        }
        int reps = quick ? 1 : 3;
        Path root = BenchSupport.findRoot();
        Path agentJar = root.resolve("agent/target/memgov-agent.jar");
        Path examplesJar = root.resolve("examples/target/memgov-examples.jar");
        String java = BenchSupport.javaCommand();
        Path spillBase = Paths.get(System.getProperty("java.io.tmpdir"))
                .resolve("memgov-bench-spill-" + ProcessHandle.current().pid()).toAbsolutePath();
        Files.createDirectories(spillBase);

        System.out.println("memgov spill benchmarks (" + (quick ? "quick" : "full") + ", " + reps
                + (reps == 1 ? " repetition" : " repetitions, medians") + "), root " + root);
        System.out.println("spill dir: " + spillBase + " (dd and memgov write there; no fsync in either)");
        System.out.println("child JVM: " + java + " -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1"
                + " -Dai.djl.pytorch.num_interop_threads=1 [-javaagent:" + root.relativize(agentJar)
                + "=log.file=<tmp>,host.limit=L,disk.dir=<spill dir>/run-K] -cp " + root.relativize(examplesJar)
                + " " + WORKLOAD + " " + String.join(" ", ARGS));

        Runner runner = new Runner(java, root, agentJar, examplesJar, spillBase);
        List<Double> ddWrite = new ArrayList<>();
        List<Double> ddRead = new ArrayList<>();
        List<Double> spillMbs = new ArrayList<>();
        List<Double> restoreMbs = new ArrayList<>();
        List<Double> seqWithout = new ArrayList<>();
        List<Double> seqWith = new ArrayList<>();
        List<Double> rssWithout = new ArrayList<>();
        List<Double> rss2x = new ArrayList<>();
        List<Double> rss4x = new ArrayList<>();
        List<Double> baseWithout = new ArrayList<>();
        List<Double> base2x = new ArrayList<>();
        List<Double> base4x = new ArrayList<>();
        List<Double> hostPeak4x = new ArrayList<>();
        List<Double> hostPeak2x = new ArrayList<>();
        List<String> counts4x = new ArrayList<>();
        List<String> counts2x = new ArrayList<>();
        Set<String> accs = new LinkedHashSet<>();
        List<String> accRuns = new ArrayList<>();
        String error = null;
        int exit = 0;
        try {
            // DJL extracts its natives on its first run ever: take that out of the figures
            System.out.println("warm-up: " + WORKLOAD + " 4 1 1 " + ARGS.get(3) + " without the agent (not measured)");
            runner.run(Arrays.asList("4", "1", "1", ARGS.get(3)), null);

            for (int i = 0; i < reps; i++) {
                boolean flip = i % 2 == 1; // alternate the order, so drift over the run favours no side
                System.out.println();
                System.out.println("rep " + (i + 1) + "/" + reps);
                double[] dd = null;
                Result r4 = null;
                if (!flip) {
                    dd = runner.dd();
                    r4 = runner.run(ARGS, LIMIT_4X);
                } else {
                    r4 = runner.run(ARGS, LIMIT_4X);
                    dd = runner.dd();
                }
                Result wo;
                Result w2;
                if (!flip) {
                    wo = runner.run(ARGS, null);
                    w2 = runner.run(ARGS, LIMIT_2X);
                } else {
                    w2 = runner.run(ARGS, LIMIT_2X);
                    wo = runner.run(ARGS, null);
                }
                ddWrite.add(dd[0]);
                ddRead.add(dd[1]);
                if (r4.sum("spills") <= 0 || r4.sum("restores") <= 0 || r4.sum("spill.micros") <= 0
                        || r4.sum("restore.micros") <= 0) {
                    throw new RunFailed("the run under host.limit=" + LIMIT_4X + " spilled or restored nothing: "
                            + r4.summary);
                }
                // what the spills wrote: spills of unchanged tensors (spills.clean) write nothing
                double sp = (double) (r4.sum("spill.bytes") - Math.max(0, r4.sum("spill.clean.bytes")))
                        / (r4.sum("spill.micros") - Math.max(0, r4.sum("spill.clean.micros")));
                double rs = (double) r4.sum("restore.bytes") / r4.sum("restore.micros");
                spillMbs.add(sp);
                restoreMbs.add(rs);
                seqWithout.add(wo.num("seq.mb.per.s"));
                seqWith.add(w2.num("seq.mb.per.s"));
                rssWithout.add(wo.num("peak.rss.kb"));
                rss2x.add(w2.num("peak.rss.kb"));
                rss4x.add(r4.num("peak.rss.kb"));
                baseWithout.add(wo.num("baseline.rss.kb"));
                base2x.add(w2.num("baseline.rss.kb"));
                base4x.add(r4.num("baseline.rss.kb"));
                hostPeak4x.add((double) r4.sum("host.peak"));
                hostPeak2x.add((double) w2.sum("host.peak"));
                counts4x.add(counts(r4));
                counts2x.add(counts(w2));
                accs.add(wo.out.get("acc"));
                accs.add(w2.out.get("acc"));
                accs.add(r4.out.get("acc"));
                accRuns.add("without " + wo.out.get("acc") + ", " + LIMIT_2X + " " + w2.out.get("acc") + ", "
                        + LIMIT_4X + " " + r4.out.get("acc"));
                System.out.println(String.format(Locale.ROOT,
                        "  dd write %.0f MB/s, read %.0f MB/s | memgov (%s) spill %.0f MB/s, restore %.0f MB/s, %s",
                        dd[0], dd[1], LIMIT_4X, sp, rs, counts(r4)));
                System.out.println(String.format(Locale.ROOT,
                        "  seq.mb.per.s without %.1f, with %s %.1f (ratio %.3f; %s) | acc %s",
                        wo.num("seq.mb.per.s"), LIMIT_2X, w2.num("seq.mb.per.s"),
                        w2.num("seq.mb.per.s") / wo.num("seq.mb.per.s"), counts(w2), accRuns.get(accRuns.size() - 1)));
                System.out.println(String.format(Locale.ROOT,
                        "  peak.rss.kb without %.0f, %s %.0f, %s %.0f",
                        wo.num("peak.rss.kb"), LIMIT_2X, w2.num("peak.rss.kb"), LIMIT_4X, r4.num("peak.rss.kb")));
            }
        } catch (RunFailed | RuntimeException e) {
            error = e.getMessage();
            exit = 2;
            System.out.println("ERROR: " + e.getMessage());
        } finally {
            deleteTree(spillBase);
        }

        String md;
        if (spillMbs.isEmpty()) {
            md = "# memgov spill benchmark results\n\nERROR: " + error + "\n";
            System.out.println("no figures");
        } else {
            String[] h1 = {"figure", "memgov (median)", "dd (median)", "ratio memgov/dd", "target", "result"};
            List<String[]> t1 = new ArrayList<>();
            double rw = BenchSupport.median(spillMbs) / BenchSupport.median(ddWrite);
            double rr = BenchSupport.median(restoreMbs) / BenchSupport.median(ddRead);
            t1.add(new String[] {"spill (write) MB/s, limit " + LIMIT_4X, mbs(BenchSupport.median(spillMbs)), mbs(BenchSupport.median(ddWrite)),
                ratio(rw), ">= " + ratio(TARGET), rw >= TARGET ? "PASS" : "FAIL"});
            t1.add(new String[] {"restore (read) MB/s, limit " + LIMIT_4X, mbs(BenchSupport.median(restoreMbs)),
                mbs(BenchSupport.median(ddRead)), ratio(rr), ">= " + ratio(TARGET), rr >= TARGET ? "PASS" : "FAIL"});

            String[] h2 = {"figure", "without agent (median)", "host.limit=" + LIMIT_2X + " (median)",
                "ratio with/without", "target", "result"};
            List<String[]> t2 = new ArrayList<>();
            double rq = BenchSupport.median(seqWith) / BenchSupport.median(seqWithout);
            boolean accSame = accs.size() == 1;
            t2.add(new String[] {"seq.mb.per.s (128 MiB, 2x limit)", fmt1(BenchSupport.median(seqWithout)), fmt1(BenchSupport.median(seqWith)),
                ratio(rq), ">= " + ratio(TARGET), rq >= TARGET ? "PASS" : "FAIL"});
            t2.add(new String[] {"acc (all runs)", accs.iterator().next(), accSame ? "identical" : "DIFFERENT: " + accs,
                "-", "identical", accSame ? "PASS" : "FAIL"});

            String[] h3 = {"run (" + WORKLOAD.substring(WORKLOAD.lastIndexOf('.') + 1) + " " + String.join(" ", ARGS)
                + ")", "host.limit", "host.peak", "baseline.rss.kb", "peak.rss.kb", "peak - baseline (MiB)"};
            List<String[]> t3 = new ArrayList<>();
            t3.add(rssRow("without agent", "-", "-", BenchSupport.median(baseWithout), BenchSupport.median(rssWithout)));
            t3.add(rssRow("agent, 2x limit", LIMIT_2X, mib(BenchSupport.median(hostPeak2x)), BenchSupport.median(base2x), BenchSupport.median(rss2x)));
            t3.add(rssRow("agent, 4x limit", LIMIT_4X, mib(BenchSupport.median(hostPeak4x)), BenchSupport.median(base4x), BenchSupport.median(rss4x)));

            System.out.println();
            System.out.println("a. spill and restore throughput vs dd on the same directory (1 GiB, bs=4M, no fsync)");
            System.out.print(BenchSupport.textTable(h1, t1));
            System.out.println();
            System.out.println("b. sequential passes, working set 2x host.limit, vs no agent");
            System.out.print(BenchSupport.textTable(h2, t2));
            System.out.println();
            System.out.println("c. process RSS (VmHWM), working set 128 MiB");
            System.out.print(BenchSupport.textTable(h3, t3));
            if (error != null) {
                System.out.println("(incomplete: " + error + ")");
            }

            StringBuilder sb = new StringBuilder();
            sb.append("# memgov spill benchmark results\n\n");
            sb.append("- when: ").append(OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS)).append('\n');
            sb.append("- mode: ").append(quick ? "quick (--quick), 1 repetition" : "full, " + reps
                    + " repetitions, medians").append('\n');
            sb.append("- java: ").append(System.getProperty("java.vm.name")).append(' ')
                    .append(System.getProperty("java.runtime.version")).append(" (").append(java).append(")\n");
            sb.append("- host: ").append(System.getProperty("os.name")).append(' ')
                    .append(System.getProperty("os.arch")).append(", ")
                    .append(Runtime.getRuntime().availableProcessors()).append(" CPUs\n");
            sb.append("- spill dir: ").append(spillBase).append(" (deleted after the run)\n");
            sb.append("- workload: `").append(WORKLOAD).append(' ').append(String.join(" ", ARGS))
                    .append("` in a fresh JVM per run; MB = 10^6 bytes; dd and memgov both write through the page cache"
                            + " without fsync\n");
            if (error != null) {
                sb.append("- incomplete: ").append(error.replace('\n', ' ')).append('\n');
            }
            sb.append("\n## a. Spill and restore throughput vs dd\n\n").append(markdownTable(h1, t1));
            sb.append("\n## b. Sequential access, working set 2x the limit\n\n").append(markdownTable(h2, t2));
            sb.append("\n## c. Process RSS\n\n").append(markdownTable(h3, t3));
            sb.append("\n## Runs\n\n");
            sb.append("- dd write MB/s: ").append(list(ddWrite)).append('\n');
            sb.append("- dd read MB/s: ").append(list(ddRead)).append('\n');
            sb.append("- memgov spill MB/s (").append(LIMIT_4X).append("): ").append(list(spillMbs)).append('\n');
            sb.append("- memgov restore MB/s (").append(LIMIT_4X).append("): ").append(list(restoreMbs)).append('\n');
            sb.append("- counts (").append(LIMIT_4X).append("): ").append(counts4x).append('\n');
            sb.append("- seq.mb.per.s without: ").append(list(seqWithout)).append('\n');
            sb.append("- seq.mb.per.s with ").append(LIMIT_2X).append(": ").append(list(seqWith)).append('\n');
            sb.append("- counts (").append(LIMIT_2X).append("): ").append(counts2x).append('\n');
            sb.append("- peak.rss.kb without / ").append(LIMIT_2X).append(" / ").append(LIMIT_4X).append(": ")
                    .append(list(rssWithout)).append(" / ").append(list(rss2x)).append(" / ").append(list(rss4x))
                    .append('\n');
            sb.append("- acc: ").append(accRuns).append('\n');
            md = sb.toString();
        }
        Path results = root.resolve("benchmarks/target/spill-results-" + ARGS.get(3) + ".md");
        try {
            Files.createDirectories(results.getParent());
            Files.write(results, md.getBytes(StandardCharsets.UTF_8));
            System.out.println("written: " + results);
        } catch (IOException e) {
            System.out.println("could not write " + results + ": " + e);
        }
        System.exit(exit);
    }

    private static String counts(Result r) {
        return "spills=" + r.sum("spills") + " spills.clean=" + r.sum("spills.clean") + " restores=" + r.sum("restores")
                + " spill.bytes=" + r.sum("spill.bytes") + " restore.bytes=" + r.sum("restore.bytes");
    }

    private static String[] rssRow(String name, String limit, String hostPeak, double base, double peak) {
        return new String[] {name, limit, hostPeak, fmt0(base), fmt0(peak),
            String.format(Locale.ROOT, "%.1f", (peak - base) / 1024)};
    }

    /** Forks workload JVMs and dd. */
    private static final class Runner {
        private final String java;
        private final Path root;
        private final Path agentJar;
        private final Path examplesJar;
        private final Path spillBase;
        private int runs;

        Runner(String java, Path root, Path agentJar, Path examplesJar, Path spillBase) {
            this.java = java;
            this.root = root;
            this.agentJar = agentJar;
            this.examplesJar = examplesJar;
            this.spillBase = spillBase;
        }

        /** Runs the workload, under the agent with {@code limit} unless it is null. */
        Result run(List<String> args, String limit) throws RunFailed, IOException, InterruptedException {
            Path out = Files.createTempFile("memgov-spillbench-", ".out");
            Path log = limit != null ? Files.createTempFile("memgov-spillbench-", ".agent.log") : null;
            // a directory of its own per run: memgov creates it and removes it at exit
            Path disk = spillBase.resolve("run-" + (++runs));
            boolean keep = false;
            try {
                List<String> cmd = BenchSupport.childCommand(java, agentJar,
                        limit == null ? null : "log.file=" + log + ",host.limit=" + limit + ",disk.dir=" + disk,
                        examplesJar, WORKLOAD, args);
                Process p = BenchSupport.startChild(cmd, root, out);
                if (!p.waitFor(RUN_TIMEOUT_MIN, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    p.waitFor();
                    keep = true;
                    throw new RunFailed(String.join(" ", cmd) + " timed out after " + RUN_TIMEOUT_MIN
                            + " min; output in " + out);
                }
                String text = new String(Files.readAllBytes(out), StandardCharsets.UTF_8);
                Result r = new Result();
                Matcher m = Pattern.compile("(?m)^([a-z.]+)=(\\S+)\\s*$").matcher(text);
                while (m.find()) {
                    r.out.put(m.group(1), m.group(2));
                }
                boolean ok = p.exitValue() == 0;
                for (String k : new String[] {"baseline.rss.kb", "seq.mb.per.s", "acc", "peak.rss.kb"}) {
                    ok &= r.out.containsKey(k);
                }
                if (ok && log != null) {
                    String summary = null;
                    for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                        if (line.contains("event=summary")) {
                            summary = line; // the last one
                        }
                    }
                    if (summary == null) {
                        ok = false;
                    } else {
                        Matcher f = Pattern.compile("(?:^|\\s)([a-z0-9.]+)=(-?[0-9]+)(?=\\s|$)").matcher(summary);
                        while (f.find()) {
                            r.summary.put(f.group(1), Long.parseLong(f.group(2)));
                        }
                    }
                }
                if (!ok) {
                    keep = true;
                    throw new RunFailed(String.join(" ", cmd) + " exited " + p.exitValue()
                            + " without all figures (or without an agent summary); output in " + out
                            + (log != null ? ", agent log in " + log : "") + "; tail:\n" + BenchSupport.tail(text, 1500));
                }
                return r;
            } finally {
                deleteTree(disk);
                if (!keep) {
                    Files.deleteIfExists(out);
                    if (log != null) {
                        Files.deleteIfExists(log);
                    }
                }
            }
        }

        /** Writes then reads 1 GiB in the spill directory with dd; returns {write MB/s, read MB/s}. */
        double[] dd() throws RunFailed, IOException, InterruptedException {
            Path f = spillBase.resolve("dd.bin");
            try {
                long bytes = DD_BLOCK * DD_COUNT;
                double w = bytes / 1e6 / timed(Arrays.asList("dd", "if=/dev/zero", "of=" + f, "bs=4M",
                        "count=" + DD_COUNT));
                if (Files.size(f) != bytes) {
                    throw new RunFailed("dd wrote " + Files.size(f) + " bytes, not " + bytes);
                }
                double r = bytes / 1e6 / timed(Arrays.asList("dd", "if=" + f, "of=/dev/null", "bs=4M"));
                return new double[] {w, r};
            } finally {
                Files.deleteIfExists(f);
            }
        }

        /** Runs a command and returns its wall time in seconds (process start included: ~1 ms of seconds). */
        private double timed(List<String> cmd) throws RunFailed, IOException, InterruptedException {
            Path out = Files.createTempFile("memgov-spillbench-dd-", ".out");
            try {
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
                long t0 = System.nanoTime();
                Process p = pb.start();
                if (!p.waitFor(RUN_TIMEOUT_MIN, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    p.waitFor();
                    throw new RunFailed(String.join(" ", cmd) + " timed out");
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (p.exitValue() != 0) {
                    throw new RunFailed(String.join(" ", cmd) + " exited " + p.exitValue() + ": "
                            + new String(Files.readAllBytes(out), StandardCharsets.UTF_8).trim());
                }
                return s;
            } finally {
                Files.deleteIfExists(out);
            }
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    System.out.println("could not delete " + p + ": " + e);
                }
            });
        } catch (IOException e) {
            System.out.println("could not delete " + dir + ": " + e);
        }
    }

    private static String mbs(double d) {
        return String.format(Locale.ROOT, "%.0f MB/s", d);
    }

    private static String mib(double bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1 << 20));
    }

    private static String ratio(double d) {
        return String.format(Locale.ROOT, "%.2f", d);
    }

    private static String fmt0(double d) {
        return String.format(Locale.ROOT, "%.0f", d);
    }

    private static String fmt1(double d) {
        return String.format(Locale.ROOT, "%.1f", d);
    }

    private static String list(List<Double> v) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < v.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", v.get(i)));
        }
        return sb.append(']').toString();
    }

    private static String markdownTable(String[] header, List<String[]> rows) {
        StringBuilder sb = new StringBuilder("|");
        for (String h : header) {
            sb.append(' ').append(h).append(" |");
        }
        sb.append("\n|");
        for (int i = 0; i < header.length; i++) {
            sb.append(i == 0 ? "---|" : "---:|");
        }
        sb.append('\n');
        for (String[] r : rows) {
            sb.append('|');
            for (String c : r) {
                sb.append(' ').append(c.replace("|", "\\|")).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
