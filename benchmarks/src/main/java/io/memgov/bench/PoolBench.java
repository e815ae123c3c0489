package io.memgov.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The buffer pool benchmarks, each in fresh JVMs alternating without the agent, with the agent
 * (pooling on, the default) and with the agent and {@code pool.enabled=false}, in the same run:
 * DJL {@code create(float[])} of 1 MiB then {@code close()} ({@code PoolWorkload bench}; target with
 * the pool: at least 5x faster, peak RSS at most a fifth), and ND4J ({@code Nd4jPoolWorkload bench}):
 * create + close (not slower), createUninitialized + close (at least 1.5x faster), create without
 * close, left to the GC with no {@code System.gc()} in the workload (at least 5x faster). Reports the
 * timed loop and the process's peak RSS (VmHWM) as ratios to the run without the agent. A report,
 * not a test: exits 0 whether targets pass or fail (2 only when a run could not be measured).
 *
 * <p>Usage, from the repository root (or with {@code -Dmemgov.root=DIR}):
 * {@code java -cp benchmarks/target/memgov-benchmarks.jar io.memgov.bench.PoolBench [--quick] [iterations] [djl|nd4j]}
 */
public final class PoolBench {
    private static final long RUN_TIMEOUT_MIN = 10;
    private static final String WORKLOAD = "io.memgov.examples.PoolWorkload";
    private static final double TARGET = 0.2;

    private PoolBench() {
    }

    /** One benchmark: a workload's bench mode, and the targets for the pool-on variant (NaN: none). */
    private static final class Bench {
        final String name;
        final String workload;
        final List<String> args;
        final double timeTarget;
        final double rssTarget;

        Bench(String name, String workload, List<String> args, double timeTarget, double rssTarget) {
            this.name = name;
            this.workload = workload;
            this.args = args;
            this.timeTarget = timeTarget;
            this.rssTarget = rssTarget;
        }
    }

    public static void main(String[] argv) throws Exception {
        boolean quick = false;
        String iterations = "2000";
        String only = null;
        for (String a : argv) {
            if (a.equals("--quick")) {
                quick = true;
            } else if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: PoolBench [--quick] [iterations (default 2000)] [djl|nd4j]   (-Dmemgov.root=DIR)");
                return;
            } else if (a.matches("\\d+")) {
                iterations = a;
            } else if (a.equals("djl") || a.equals("nd4j")) {
                only = a;
            } else {
                System.err.println("unknown argument " + a);
                System.exit(2);
            }
        }
        int reps = quick ? 3 : 5;
        Path root = BenchSupport.findRoot();
        Path agentJar = root.resolve("agent/target/memgov-agent.jar");
        Path examplesJar = root.resolve("examples/target/memgov-examples.jar");
        String java = BenchSupport.javaCommand();
        String nd4j = "io.memgov.examples.Nd4jPoolWorkload";
        List<Bench> benches = new ArrayList<>();
        if (only == null || only.equals("djl")) {
            benches.add(new Bench("DJL create(1 MiB float[]) + close", WORKLOAD, List.of("bench", iterations, "262144"),
                    TARGET, TARGET));
        }
        if (only == null || only.equals("nd4j")) {
            benches.add(new Bench("ND4J create(1 MiB) + close", nd4j, List.of("bench", "create", iterations, "262144"),
                    1.0, Double.NaN));
            benches.add(new Bench("ND4J createUninitialized(1 MiB) + close", nd4j,
                    List.of("bench", "uninit", iterations, "262144"), 1 / 1.5, Double.NaN));
            benches.add(new Bench("ND4J create(1 MiB) without close (GC path)", nd4j,
                    List.of("bench", "noclose", iterations, "262144"), TARGET, Double.NaN));
        }

        String[] variants = {"without agent", "agent, pool on", "agent, pool.enabled=false"};
        String[] options = {null, "", "pool.enabled=false"};
        String[] header = {"benchmark", "variant", "runs", "loop ms (median)", "time ratio", "peak RSS MiB (median)",
            "RSS ratio", "target (pool on)", "result"};
        List<String[]> rows = new ArrayList<>();
        StringBuilder raw = new StringBuilder();
        String hitsNote = "";
        for (Bench b : benches) {
            Map<String, List<Double>> ms = new LinkedHashMap<>();
            Map<String, List<Double>> rss = new LinkedHashMap<>();
            for (String v : variants) {
                ms.put(v, new ArrayList<>());
                rss.put(v, new ArrayList<>());
            }
            System.out.println("pool benchmark: " + b.name + ": " + b.workload + " " + String.join(" ", b.args) + ", "
                    + reps + " repetitions, variants alternating");
            try {
                for (int i = 0; i < reps; i++) {
                    for (int k = 0; k < variants.length; k++) {
                        int v = (k + i) % variants.length; // rotate who goes first
                        Map<String, String> r = run(java, root, agentJar, examplesJar, b.workload, options[v], b.args);
                        ms.get(variants[v]).add(Double.parseDouble(r.get("bench.ms")));
                        rss.get(variants[v]).add(Double.parseDouble(r.get("rss.peak.kb")) / 1024);
                        if (v == 1 && r.containsKey("pool.hits")) {
                            hitsNote = " (last pool-on run: pool.hits=" + r.get("pool.hits") + " pool.misses=" + r.get("pool.misses") + ")";
                        }
                        System.out.println(String.format(Locale.ROOT, "  rep %d/%d %-26s %8s ms  peak RSS %8.1f MiB", i + 1,
                                reps, variants[v], r.get("bench.ms"), Double.parseDouble(r.get("rss.peak.kb")) / 1024));
                    }
                }
            } catch (RunFailed e) {
                System.out.println("ERROR: " + e.getMessage());
                System.exit(2);
            }
            System.out.println("  " + b.name + hitsNote);
            double baseMs = BenchSupport.median(ms.get(variants[0]));
            double baseRss = BenchSupport.median(rss.get(variants[0]));
            for (int v = 0; v < variants.length; v++) {
                double m = BenchSupport.median(ms.get(variants[v]));
                double r = BenchSupport.median(rss.get(variants[v]));
                String target = "-";
                String result = "-";
                if (v == 1) {
                    target = String.format(Locale.ROOT, "time <= %.2fx", b.timeTarget)
                            + (Double.isNaN(b.rssTarget) ? "" : String.format(Locale.ROOT, ", RSS <= %.2fx", b.rssTarget));
                    boolean pass = m / baseMs <= b.timeTarget && (Double.isNaN(b.rssTarget) || r / baseRss <= b.rssTarget);
                    result = pass ? "PASS" : "FAIL";
                }
                rows.add(new String[] {b.name, variants[v], Integer.toString(ms.get(variants[v]).size()),
                    String.format(Locale.ROOT, "%.0f", m), String.format(Locale.ROOT, "%.3fx", m / baseMs),
                    String.format(Locale.ROOT, "%.1f", r), String.format(Locale.ROOT, "%.3fx", r / baseRss), target, result});
                raw.append("- ").append(b.name).append(", ").append(variants[v]).append(": ms ").append(ms.get(variants[v]))
                        .append(", peak RSS MiB ").append(rss.get(variants[v])).append('\n');
            }
        }
        System.out.println();
        String table = BenchSupport.textTable(header, rows);
        System.out.print(table);

        Path results = root.resolve("benchmarks/target/pool-results.md");
        StringBuilder md = new StringBuilder("# memgov buffer pool benchmark\n\n");
        md.append("- when: ").append(OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS)).append('\n');
        md.append("- java: ").append(System.getProperty("java.runtime.version")).append(", ")
                .append(Runtime.getRuntime().availableProcessors()).append(" CPUs\n\n```\n").append(table).append("```\n");
        md.append(raw);
        try {
            Files.createDirectories(results.getParent());
            Files.write(results, md.toString().getBytes(StandardCharsets.UTF_8));
            System.out.println("written: " + results);
        } catch (IOException e) {
            System.out.println("could not write " + results + ": " + e);
        }
    }

    private static final class RunFailed extends Exception {
        private static final long serialVersionUID = 1L;

        RunFailed(String message) {
            super(message);
        }
    }

    /** One child JVM: the figures it printed, and the agent's summary figures when it ran with the agent. */
    private static Map<String, String> run(String java, Path root, Path agentJar, Path examplesJar, String workload,
                                           String agentOptions, List<String> args) throws IOException, InterruptedException, RunFailed {
        Path out = Files.createTempFile("memgov-poolbench-", ".out");
        Path log = agentOptions != null ? Files.createTempFile("memgov-poolbench-", ".log") : null;
        try {
            String opts = agentOptions == null ? null
                    : "log.file=" + log + (agentOptions.isEmpty() ? "" : "," + agentOptions);
            List<String> cmd = BenchSupport.childCommand(java, agentJar, opts, examplesJar, workload, args);
            Process p = BenchSupport.startChild(cmd, root, out);
            if (!p.waitFor(RUN_TIMEOUT_MIN, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new RunFailed(String.join(" ", cmd) + " timed out");
            }
            String text = new String(Files.readAllBytes(out), StandardCharsets.UTF_8);
            Map<String, String> m = new LinkedHashMap<>();
            Matcher x = Pattern.compile("(bench\\.ms|rss\\.peak\\.kb)=(\\d+)").matcher(text);
            while (x.find()) {
                m.put(x.group(1), x.group(2));
            }
            if (p.exitValue() != 0 || !m.containsKey("bench.ms") || !m.containsKey("rss.peak.kb")) {
                throw new RunFailed(String.join(" ", cmd) + " exited " + p.exitValue() + "; tail:\n"
                        + BenchSupport.tail(text, 1500));
            }
            if (log != null) {
                String l = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
                Matcher s = Pattern.compile("event=summary .*?pool\\.hits=(\\d+) pool\\.misses=(\\d+)").matcher(l);
                if (s.find()) {
                    m.put("pool.hits", s.group(1));
                    m.put("pool.misses", s.group(2));
                }
            }
            return m;
        } finally {
            Files.deleteIfExists(out);
            if (log != null) {
                Files.deleteIfExists(log);
            }
        }
    }
}
