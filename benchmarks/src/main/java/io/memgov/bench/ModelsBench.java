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
 * Multi-model inference under a HOST limit ({@code io.memgov.examples.MultiModelInference}: 8 models
 * of biased dense layers, skewed requests): throughput, p99 latency and peak RSS without the agent,
 * with the agent and no limit, and with {@code host.limit} at 1/3 and 1/6 of the weights, for DJL and
 * DL4J, each variant in fresh JVMs, rotated, medians of {@code reps} runs. Every governed run's
 * answers must equal the run without the agent (the digest). It is a report, not a test: it exits 0
 * unless a run could not be measured or an answer differed (2).
 *
 * <p>Usage, from the repository root:
 * {@code java -cp benchmarks/target/memgov-benchmarks.jar io.memgov.bench.ModelsBench [reps] [layers] [requests] [built|saved]}
 */
public final class ModelsBench {
    private static final String WORKLOAD = "io.memgov.examples.MultiModelInference";

    private ModelsBench() {
    }

    public static void main(String[] argv) throws Exception {
        int reps = argv.length > 0 ? Integer.parseInt(argv[0]) : 3;
        String layers = argv.length > 1 ? argv[1] : "4";
        String requests = argv.length > 2 ? argv[2] : "400";
        String how = argv.length > 3 ? argv[3] : "built";
        Path root = BenchSupport.findRoot();
        Path agent = root.resolve("agent/target/memgov-agent.jar");
        Path examples = root.resolve("examples/target/memgov-examples.jar");
        String java = BenchSupport.javaCommand();
        String[] header = {"framework", "variant", "throughput (req/s)", "vs no agent", "p99 (ms)", "peak RSS (MiB)",
            "host.peak (MiB)", "spills", "restores"};
        List<String[]> rows = new ArrayList<>();
        boolean bad = false;
        for (String fw : new String[]{"djl", "dl4j"}) {
            List<String> args = List.of(fw, "8", layers, requests, how, "100");
            Map<String, String> first = run(java, agent, null, examples, args, root);
            long weights = Long.parseLong(first.get("weights.bytes"));
            String[] variants = {"no agent", "agent, no limit", "limit 1/3", "limit 1/6"};
            String[] options = {null, "log.file=" + log(root, fw, 1), "log.file=" + log(root, fw, 2) + ",host.limit=" + weights / 3,
                "log.file=" + log(root, fw, 3) + ",host.limit=" + weights / 6};
            Map<Integer, List<Map<String, String>>> results = new LinkedHashMap<>();
            for (int r = 0; r < reps; r++) {
                for (int v = 0; v < variants.length; v++) {
                    Map<String, String> out = run(java, agent, options[v], examples, args, root);
                    if (v > 0) {
                        out.putAll(summary(log(root, fw, v)));
                    }
                    if (!out.get("digest").equals(first.get("digest"))) {
                        System.err.println(fw + " " + variants[v] + ": digest " + out.get("digest") + " differs from "
                                + first.get("digest"));
                        bad = true;
                    }
                    results.computeIfAbsent(v, k -> new ArrayList<>()).add(out);
                }
            }
            double base = median(results.get(0), "throughput.rps");
            for (int v = 0; v < variants.length; v++) {
                List<Map<String, String>> rs = results.get(v);
                double tput = median(rs, "throughput.rps");
                rows.add(new String[]{fw, variants[v], fmt("%.1f", tput), fmt("%.2fx", tput / base),
                    fmt("%.1f", median(rs, "p99.us") / 1000), fmt("%.0f", median(rs, "rss.peak.kb") / 1024),
                    v == 0 ? "-" : fmt("%.1f", median(rs, "host.peak") / (1 << 20)),
                    v == 0 ? "-" : fmt("%.0f", median(rs, "spills")), v == 0 ? "-" : fmt("%.0f", median(rs, "restores"))});
            }
            System.out.println(fw + ": weights " + weights / (1 << 20) + " MiB, " + requests + " requests, models " + how);
        }
        System.out.println();
        System.out.print(BenchSupport.textTable(header, rows));
        if (bad) {
            System.exit(2);
        }
    }

    static String fmt(String f, double v) {
        return String.format(Locale.ROOT, f, v);
    }

    static double median(List<Map<String, String>> runs, String key) {
        List<Double> v = new ArrayList<>();
        for (Map<String, String> r : runs) {
            v.add(Double.parseDouble(r.get(key)));
        }
        return BenchSupport.median(v);
    }

    static Path log(Path root, String fw, int variant) {
        return root.resolve("benchmarks/target/models-" + fw + "-" + variant + ".log");
    }

    static Map<String, String> run(String java, Path agent, String options, Path examples, List<String> args, Path root)
            throws Exception {
        if (options != null) {
            Files.deleteIfExists(Path.of(options.replaceAll("^log.file=([^,]*).*", "$1")));
        }
        Path out = Files.createTempFile("models-bench-", ".txt");
        Process p = BenchSupport.startChild(BenchSupport.childCommand(java, agent, options, examples, WORKLOAD, args), root, out);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            System.err.println(BenchSupport.tail(Files.readString(out, StandardCharsets.UTF_8), 3000));
            System.exit(2);
        }
        Map<String, String> m = new LinkedHashMap<>();
        Matcher kv = Pattern.compile("([a-z.0-9]+)=([0-9a-f.]+)").matcher(Files.readString(out, StandardCharsets.UTF_8));
        while (kv.find()) {
            m.put(kv.group(1), kv.group(2));
        }
        Files.delete(out);
        return m;
    }

    static Map<String, String> summary(Path log) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(log)) {
            if (line.contains("event=summary")) {
                Matcher kv = Pattern.compile("([a-z.]+)=(-?[0-9]+)(?=\\s|$)").matcher(line);
                while (kv.find()) {
                    m.put(kv.group(1), kv.group(2));
                }
            }
        }
        return m;
    }
}
