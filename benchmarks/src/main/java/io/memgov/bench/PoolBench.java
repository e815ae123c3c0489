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
 * The buffer pool benchmark: DJL {@code create(float[])} of 1 MiB then {@code close()}, repeated
 * ({@code io.memgov.examples.PoolWorkload bench}), in fresh JVMs alternating without the agent, with
 * the agent (pooling on, the default) and with the agent and {@code pool.enabled=false}, in the same
 * run. Reports the loop's time and the process's peak RSS (VmHWM) as ratios to the run without the
 * agent. Targets (pool on): at least 5x faster, peak RSS at most a fifth. A report, not a test: exits
 * 0 whether targets pass or fail (2 only when a run could not be measured).
 *
 * <p>Usage, from the repository root (or with {@code -Dmemgov.root=DIR}):
 * {@code java -cp benchmarks/target/memgov-benchmarks.jar io.memgov.bench.PoolBench [--quick] [iterations]}
 */
public final class PoolBench {
    private static final long RUN_TIMEOUT_MIN = 10;
    private static final String WORKLOAD = "io.memgov.examples.PoolWorkload";
    private static final double TARGET = 0.2;

    private PoolBench() {
    }

    public static void main(String[] argv) throws Exception {
        boolean quick = false;
        String iterations = "2000";
        for (String a : argv) {
            if (a.equals("--quick")) {
                quick = true;
            } else if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: PoolBench [--quick] [iterations (default 2000)]   (-Dmemgov.root=DIR)");
                return;
            } else if (a.matches("\\d+")) {
                iterations = a;
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
        List<String> args = List.of("bench", iterations, "262144");

        String[] variants = {"without agent", "agent, pool on", "agent, pool.enabled=false"};
        String[] options = {null, "", "pool.enabled=false"};
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        Map<String, List<Double>> rss = new LinkedHashMap<>();
        for (String v : variants) {
            ms.put(v, new ArrayList<>());
            rss.put(v, new ArrayList<>());
        }
        System.out.println("pool benchmark: " + WORKLOAD + " " + String.join(" ", args) + " (" + iterations
                + " x create(1 MiB float[]) + close), " + reps + " repetitions, variants alternating");
        long poolHits = -1;
        long poolMisses = -1;
        try {
            for (int i = 0; i < reps; i++) {
                for (int k = 0; k < variants.length; k++) {
                    int v = (k + i) % variants.length; // rotate who goes first
                    Map<String, String> r = run(java, root, agentJar, examplesJar, options[v], args);
                    ms.get(variants[v]).add(Double.parseDouble(r.get("bench.ms")));
                    rss.get(variants[v]).add(Double.parseDouble(r.get("rss.peak.kb")) / 1024);
                    if (v == 1 && r.containsKey("pool.hits")) {
                        poolHits = Long.parseLong(r.get("pool.hits"));
                        poolMisses = Long.parseLong(r.get("pool.misses"));
                    }
                    System.out.println(String.format(Locale.ROOT, "  rep %d/%d %-26s %8s ms  peak RSS %8.1f MiB", i + 1,
                            reps, variants[v], r.get("bench.ms"), Double.parseDouble(r.get("rss.peak.kb")) / 1024));
                }
            }
        } catch (RunFailed e) {
            System.out.println("ERROR: " + e.getMessage());
            System.exit(2);
        }

        double baseMs = BenchSupport.median(ms.get(variants[0]));
        double baseRss = BenchSupport.median(rss.get(variants[0]));
        String[] header = {"variant", "runs", "loop ms (median)", "time ratio", "peak RSS MiB (median)", "RSS ratio",
            "target", "result"};
        List<String[]> rows = new ArrayList<>();
        for (int v = 0; v < variants.length; v++) {
            double m = BenchSupport.median(ms.get(variants[v]));
            double r = BenchSupport.median(rss.get(variants[v]));
            String target = v == 1 ? "both <= " + TARGET + "x" : "-";
            String result = v == 1 ? (m / baseMs <= TARGET && r / baseRss <= TARGET ? "PASS" : "FAIL") : "-";
            rows.add(new String[] {variants[v], Integer.toString(ms.get(variants[v]).size()),
                String.format(Locale.ROOT, "%.0f", m), String.format(Locale.ROOT, "%.3fx", m / baseMs),
                String.format(Locale.ROOT, "%.1f", r), String.format(Locale.ROOT, "%.3fx", r / baseRss), target, result});
        }
        System.out.println();
        String table = BenchSupport.textTable(header, rows);
        System.out.print(table);
        System.out.println("pool (last run with it on): pool.hits=" + poolHits + " pool.misses=" + poolMisses);

        Path results = root.resolve("benchmarks/target/pool-results.md");
        StringBuilder md = new StringBuilder("# memgov buffer pool benchmark\n\n");
        md.append("- when: ").append(OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS)).append('\n');
        md.append("- workload: `").append(WORKLOAD).append(' ').append(String.join(" ", args)).append("`\n");
        md.append("- java: ").append(System.getProperty("java.runtime.version")).append(", ")
                .append(Runtime.getRuntime().availableProcessors()).append(" CPUs\n\n```\n").append(table).append("```\n");
        for (String v : variants) {
            md.append("- ").append(v).append(": ms ").append(ms.get(v)).append(", peak RSS MiB ").append(rss.get(v)).append('\n');
        }
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
    private static Map<String, String> run(String java, Path root, Path agentJar, Path examplesJar, String agentOptions,
                                           List<String> args) throws IOException, InterruptedException, RunFailed {
        Path out = Files.createTempFile("memgov-poolbench-", ".out");
        Path log = agentOptions != null ? Files.createTempFile("memgov-poolbench-", ".log") : null;
        try {
            String opts = agentOptions == null ? null
                    : "log.file=" + log + (agentOptions.isEmpty() ? "" : "," + agentOptions);
            List<String> cmd = BenchSupport.childCommand(java, agentJar, opts, examplesJar, WORKLOAD, args);
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
