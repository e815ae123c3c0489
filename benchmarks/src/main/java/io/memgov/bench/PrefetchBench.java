package io.memgov.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Restores ahead of use: each workload without the agent, under a HOST limit with
 * {@code prefetch=off}, and with {@code prefetch=auto}, in fresh JVMs, rotated, medians of
 * {@code reps}; every governed result must equal the run without the agent.
 * <ul>
 * <li>Sequential passes ({@code SpillBenchWorkload 32 4 5}: 128 MiB summed in order 5 times) under
 * {@code host.limit=64m} (the working set is twice the limit), DJL and ND4J: speed as a ratio to the
 * run without a limit.</li>
 * <li>Random access (the same arrays, 160 sums of arrays drawn at random): auto against off, and
 * {@code prefetch.wasted} as a share of {@code prefetches}.</li>
 * <li>Multi-model inference ({@code MultiModelInference}, 8 models, 32 MiB of weights, 400 skewed
 * requests) under a third of its weights: throughput and p99, DJL and DL4J.</li>
 * </ul>
 * A report, not a test: exits 0 unless a run failed or a result differed (2). Usage, from the
 * repository root: {@code java -cp benchmarks/target/memgov-benchmarks.jar io.memgov.bench.PrefetchBench [reps]}
 */
public final class PrefetchBench {
    private PrefetchBench() {
    }

    public static void main(String[] argv) throws Exception {
        int reps = argv.length > 0 ? Integer.parseInt(argv[0]) : 3;
        Path root = BenchSupport.findRoot();
        Path agent = root.resolve("agent/target/memgov-agent.jar");
        Path examples = root.resolve("examples/target/memgov-examples.jar");
        String java = BenchSupport.javaCommand();
        Path log = root.resolve("benchmarks/target/prefetch-bench.log");
        List<String[]> rows = new ArrayList<>();
        String[] header = {"workload", "variant", "speed", "vs no limit", "vs prefetch=off", "p99 (ms)", "restores",
            "prefetches", "hits", "wasted", "waited"};
        for (String[] w : new String[][]{
            {"sequential, DJL", "io.memgov.examples.SpillBenchWorkload", "host.limit=64m", "32 4 5 djl", "seq.mb.per.s", "MiB/s"},
            {"sequential, ND4J", "io.memgov.examples.SpillBenchWorkload", "host.limit=64m", "32 4 5 nd4j", "seq.mb.per.s", "MiB/s"},
            {"random, DJL", "io.memgov.examples.SpillBenchWorkload", "host.limit=64m", "32 4 5 djl random", "seq.mb.per.s", "MiB/s"},
            {"random, ND4J", "io.memgov.examples.SpillBenchWorkload", "host.limit=64m", "32 4 5 nd4j random", "seq.mb.per.s", "MiB/s"},
            {"8 models, DJL", "io.memgov.examples.MultiModelInference", "host.limit=11294208", "djl 8 4 400 built 100",
                "throughput.rps", "req/s"},
            {"8 models, DL4J", "io.memgov.examples.MultiModelInference", "host.limit=11294208", "dl4j 8 4 400 built 100",
                "throughput.rps", "req/s"}}) {
            String[] options = {null, w[2] + ",prefetch=off,log.file=" + log, w[2] + ",prefetch=auto,log.file=" + log};
            String[] names = {"no agent", "prefetch=off", "prefetch=auto"};
            List<List<Map<String, String>>> results = new ArrayList<>();
            for (int v = 0; v < options.length; v++) {
                results.add(new ArrayList<>());
            }
            String result = null;
            for (int r = 0; r < reps; r++) {
                for (int v = 0; v < options.length; v++) {
                    Files.deleteIfExists(log);
                    Map<String, String> out = run(java, agent, options[v], examples, w[1], List.of(w[3].split(" ")), root);
                    if (v > 0) {
                        out.putAll(ModelsBench.summary(log));
                    }
                    String res = out.containsKey("acc") ? out.get("acc") : out.get("digest");
                    if (result != null && !result.equals(res)) {
                        System.err.println(w[0] + " " + names[v] + ": result " + res + " differs from " + result);
                        System.exit(2);
                    }
                    result = res;
                    results.get(v).add(out);
                }
            }
            double base = median(results.get(0), w[4]);
            double off = median(results.get(1), w[4]);
            for (int v = 0; v < options.length; v++) {
                List<Map<String, String>> rs = results.get(v);
                double speed = median(rs, w[4]);
                boolean agentRun = v > 0;
                rows.add(new String[]{w[0], names[v], fmt("%.1f ", speed) + w[5], fmt("%.2fx", speed / base),
                    v == 2 ? fmt("%.2fx", speed / off) : "", rs.get(0).containsKey("p99.us") ? fmt("%.1f", median(rs, "p99.us") / 1000) : "",
                    agentRun ? fmt("%.0f", median(rs, "restores")) : "", agentRun ? fmt("%.0f", median(rs, "prefetches")) : "",
                    agentRun ? fmt("%.0f", median(rs, "prefetch.hits")) : "", agentRun ? fmt("%.0f", median(rs, "prefetch.wasted")) : "",
                    agentRun ? fmt("%.0f", median(rs, "restores.waited")) : ""});
            }
            System.out.println(w[0] + " done");
        }
        System.out.println();
        System.out.print(BenchSupport.textTable(header, rows));
    }

    static String fmt(String f, double v) {
        return String.format(Locale.ROOT, f, v);
    }

    static double median(List<Map<String, String>> runs, String key) {
        List<Double> v = new ArrayList<>();
        for (Map<String, String> r : runs) {
            v.add(Double.parseDouble(r.getOrDefault(key, "NaN")));
        }
        return BenchSupport.median(v);
    }

    static Map<String, String> run(String java, Path agent, String options, Path examples, String main, List<String> args,
                                   Path root) throws Exception {
        Path out = Files.createTempFile("prefetch-bench-", ".txt");
        Process p = BenchSupport.startChild(BenchSupport.childCommand(java, agent, options, examples, main, args), root, out);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            System.err.println(BenchSupport.tail(Files.readString(out, StandardCharsets.UTF_8), 3000));
            System.exit(2);
        }
        Map<String, String> m = new LinkedHashMap<>();
        Matcher kv = Pattern.compile("(?m)^([a-z.0-9]+)=([0-9a-f.]+)").matcher(Files.readString(out, StandardCharsets.UTF_8));
        while (kv.find()) {
            m.put(kv.group(1), kv.group(2));
        }
        Matcher kv2 = Pattern.compile("(throughput\\.rps|p50\\.us|p99\\.us)=([0-9.]+)").matcher(Files.readString(out, StandardCharsets.UTF_8));
        while (kv2.find()) {
            m.put(kv2.group(1), kv2.group(2));
        }
        Files.delete(out);
        return m;
    }
}
