package io.memgov.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resident memory under a HOST limit, and what trimming the C heap costs.
 * <ol>
 * <li>Peak RSS growth (VmHWM at the end less VmHWM after the engine loaded, before the big arrays) of
 * {@code SpillBenchWorkload}: 64 arrays of 4 MiB (256 MiB) made and summed once, without the agent,
 * with the agent and no limit, and with {@code host.limit} at 1/4 (64m) and 1/16 (16m) of the working
 * set, DJL and ND4J; default JVM flags (the Java heap grows as it likes) and with the heap fixed and
 * pre-touched ({@code -XX:+AlwaysPreTouch -Xms256m -Xmx256m}, as {@code RssIT} runs).</li>
 * <li>What trimming costs the MLP loop ({@code MlpTraining}) and the DL4J loop ({@code Dl4jTraining})
 * under a limit, measured in one JVM ({@code trim-toggle}: trimming switched off live in half the
 * loop's spans, see {@code EpochHalves} in the examples), each such JVM alternating with a control JVM
 * whose switch keeps trimming off in both halves ({@code -Dtrim.toggle.control=true}): the cost is the
 * median on/off ratio of the trimming JVMs over that of the controls, over the spans with no Java GC
 * in them or in the span before ({@code trim.ratio.settled}), with a bootstrap 95% interval,
 * and how many runs' epoch losses differ from those most runs gave (the MLP's differ without the agent
 * too, in about 1 run of 8 at 101 epochs: libtorch's CPU kernels are not bit for bit repeatable here). The DL4J loop runs under {@code host.limit=400k}
 * (it spills its parameters each step, and the Java heap and ND4J grow RSS beside them, so it trims);
 * the MLP under {@code host.limit=8g} (governed in spill mode, nothing spilled, far from the limit).</li>
 * <li>Optionally the same across JVMs: {@code native.trim=true} against {@code false} in alternating
 * fresh JVMs, the median ratio of their loop times (noisier: single pairs range 0.65-1.58x here).</li>
 * </ol>
 * A report, not a test. Usage, from the repository root:
 * {@code java -cp benchmarks/target/memgov-benchmarks.jar io.memgov.bench.RssBench [reps] [pairs] [toggles]}
 * (defaults 3 0 16: reps of the RSS table, 0 skips it; pairs across JVMs; trimming JVMs in one-JVM
 * comparisons, each with its control), then optionally {@code MLP} or {@code DL4J}: that loop's comparison alone
 */
public final class RssBench {
    private RssBench() {
    }

    public static void main(String[] argv) throws Exception {
        int reps = argv.length > 0 ? Integer.parseInt(argv[0]) : 3;
        int pairs = argv.length > 1 ? Integer.parseInt(argv[1]) : 0;
        int toggles = argv.length > 2 ? Integer.parseInt(argv[2]) : 16;
        String only = argv.length > 3 ? argv[3] : ""; // "MLP" or "DL4J": that loop alone
        Path root = BenchSupport.findRoot();
        Path agent = root.resolve("agent/target/memgov-agent.jar");
        Path examples = root.resolve("examples/target/memgov-examples.jar");
        String java = BenchSupport.javaCommand();

        String[] header = {"framework", "JVM heap", "no agent", "agent, no limit", "limit 1/4 (64m)", "limit 1/16 (16m)",
            "1/16, native.trim=false"};
        String[] options = {null, "", "host.limit=64m", "host.limit=16m", "host.limit=16m,native.trim=false"};
        List<String[]> rows = new ArrayList<>();
        for (String fw : new String[]{"djl", "nd4j"}) {
            for (boolean fixed : new boolean[]{false, true}) {
                List<String> jvm = fixed ? List.of("-XX:+AlwaysPreTouch", "-Xms256m", "-Xmx256m") : List.of();
                List<List<Double>> growth = new ArrayList<>();
                for (int v = 0; v < options.length; v++) {
                    growth.add(new ArrayList<>());
                }
                String acc = null;
                for (int r = 0; r < reps; r++) {
                    for (int v = 0; v < options.length; v++) {
                        String out = run(java, jvm, agent, options[v], examples, "io.memgov.examples.SpillBenchWorkload",
                                List.of("64", "4", "1", fw), root);
                        String a = field(out, "acc");
                        if (acc != null && !acc.equals(a)) {
                            System.err.println(fw + " " + options[v] + ": result " + a + " differs from " + acc);
                            System.exit(2);
                        }
                        acc = a;
                        growth.get(v).add((Double.parseDouble(field(out, "peak.rss.kb"))
                                - Double.parseDouble(field(out, "baseline.rss.kb"))) / 1024);
                    }
                }
                String[] row = new String[options.length + 2];
                row[0] = fw;
                row[1] = fixed ? "fixed, pre-touched" : "default";
                for (int v = 0; v < options.length; v++) {
                    row[v + 2] = String.format(Locale.ROOT, "+%.0f MiB", BenchSupport.median(growth.get(v)));
                }
                rows.add(row);
            }
        }
        if (reps > 0) {
            System.out.println("Peak RSS growth over the floor, 256 MiB working set, medians of " + reps + ":");
            System.out.print(BenchSupport.textTable(header, rows));
            System.out.println();
        }
        if (toggles > 0) {
            toggleCost(java, agent, examples, root, toggles, only);
        }
        if (pairs == 0) {
            return;
        }

        String[][] loops = {{"MLP loop", "io.memgov.examples.MlpTraining", "host.limit=8g", "101 50 128 no-checkpoints"},
            {"DL4J loop", "io.memgov.examples.Dl4jTraining", "host.limit=400k", "11 40 128"}};
        List<String[]> costRows = new ArrayList<>();
        for (String[] loop : loops) {
            List<Double> ratios = new ArrayList<>();
            long trims = 0;
            for (int p = 0; p < pairs; p++) {
                double[] ms = new double[2];
                for (int k = 0; k < 2; k++) {
                    boolean on = (p + k) % 2 == 0; // alternate which goes first
                    Path log = root.resolve("benchmarks/target/rss-bench-" + (on ? "on" : "off") + ".log");
                    Files.deleteIfExists(log);
                    String out = run(java, List.of(), agent, loop[2] + ",native.trim=" + on + ",log.file=" + log, examples,
                            loop[1], List.of(loop[3].split(" ")), root);
                    ms[on ? 0 : 1] = Double.parseDouble(field(out, "train.ms"));
                    if (on) {
                        Matcher m = Pattern.compile("native.trims=(\\d+)").matcher(Files.readString(log));
                        while (m.find()) {
                            trims = Long.parseLong(m.group(1));
                        }
                    }
                }
                ratios.add(ms[0] / ms[1]);
            }
            double[] sorted = ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double[] ci = BenchSupport.medianInterval(ratios);
            costRows.add(new String[]{loop[0], loop[2], String.format(Locale.ROOT, "%.3fx", BenchSupport.median(ratios)),
                String.format(Locale.ROOT, "%.3f-%.3fx", ci[0], ci[1]),
                String.format(Locale.ROOT, "%.3f-%.3fx", sorted[0], sorted[sorted.length - 1]), Long.toString(trims)});
        }
        System.out.println("Trimming's cost: loop time with native.trim=true / false, " + pairs + " alternating pairs:");
        System.out.print(BenchSupport.textTable(new String[]{"loop", "limit", "median", "95% CI of the median", "range",
            "trims (last run)"}, costRows));
    }

    /** What trimming costs each loop, measured in one JVM against control JVMs (see the class comment). */
    static void toggleCost(String java, Path agent, Path examples, Path root, int runs, String only) throws Exception {
        String[][] loops = {{"MLP loop", "io.memgov.examples.MlpTraining", "host.limit=8g", "101 50 128 no-checkpoints trim-toggle"},
            {"DL4J loop", "io.memgov.examples.Dl4jTraining", "host.limit=400k", "41 40 128 trim-toggle"}};
        List<String[]> rows = new ArrayList<>();
        for (String[] loop : loops) {
            if (!loop[0].startsWith(only)) {
                continue;
            }
            List<List<Double>> settled = List.of(new ArrayList<>(), new ArrayList<>()); // [control, trimming]
            List<List<Double>> nogc = List.of(new ArrayList<>(), new ArrayList<>());
            List<List<Double>> all = List.of(new ArrayList<>(), new ArrayList<>());
            long[] trims = new long[2];
            Map<String, Integer> results = new HashMap<>(); // each run's epoch lines: how many runs gave them
            for (int r = 0; r < runs; r++) {
                for (int k = 0; k < 2; k++) {
                    int v = (r + k) % 2; // alternate which goes first
                    Path log = root.resolve("benchmarks/target/rss-bench-toggle.log");
                    Files.deleteIfExists(log);
                    String out = run(java, List.of("-Dtrim.toggle.control=" + (v == 0)), agent, loop[2] + ",log.file=" + log,
                            examples, loop[1], List.of(loop[3].split(" ")), root);
                    results.merge(String.join("\n", out.lines().filter(l -> l.startsWith("epoch ")).toArray(String[]::new)), 1, Integer::sum);
                    settled.get(v).add(Double.parseDouble(field(out, "trim.ratio.settled")));
                    nogc.get(v).add(Double.parseDouble(field(out, "trim.ratio.nogc")));
                    all.get(v).add(Double.parseDouble(field(out, "trim.ratio")));
                    Matcher m = Pattern.compile("native.trims=(\\d+)").matcher(Files.readString(log));
                    while (m.find()) {
                        trims[v] = Long.parseLong(m.group(1));
                    }
                }
            }
            // each JVM's figure, in run order, so that series can be pooled later
            System.out.println(loop[0] + " trim.ratio.settled, control JVMs: " + settled.get(0));
            System.out.println(loop[0] + " trim.ratio.settled, trimming JVMs: " + settled.get(1));
            double[] ci = ratioOfMediansInterval(settled.get(1), settled.get(0));
            double[] nogcCi = ratioOfMediansInterval(nogc.get(1), nogc.get(0));
            rows.add(new String[]{loop[0], loop[2],
                String.format(Locale.ROOT, "%.3fx", BenchSupport.median(settled.get(1)) / BenchSupport.median(settled.get(0))),
                String.format(Locale.ROOT, "%.3f-%.3fx", ci[0], ci[1]),
                String.format(Locale.ROOT, "%.3fx / %.3fx", BenchSupport.median(settled.get(1)), BenchSupport.median(settled.get(0))),
                String.format(Locale.ROOT, "%.3fx (%.3f-%.3fx)", BenchSupport.median(nogc.get(1)) / BenchSupport.median(nogc.get(0)),
                    nogcCi[0], nogcCi[1]),
                String.format(Locale.ROOT, "%.3fx", BenchSupport.median(all.get(1)) / BenchSupport.median(all.get(0))),
                trims[1] + " / " + trims[0],
                (2 * runs - Collections.max(results.values())) + " of " + 2 * runs});
        }
        System.out.println("Trimming's cost in one JVM: spans with trimming on / off, " + runs
                + " trimming JVMs against as many controls (both halves off), spans with no Java GC in them or the span before:");
        System.out.print(BenchSupport.textTable(new String[]{"loop", "limit", "cost", "95% CI (bootstrap)",
            "median on/off: trimming / control", "cost, spans after a GC in (CI)", "cost, GC spans in", "trims (last runs)",
            "runs whose losses differ from most"}, rows));
        System.out.println();
    }

    /** A bootstrap 95% interval (percentiles of 4,000 resamples, a fixed seed) of median(a) / median(b). */
    static double[] ratioOfMediansInterval(List<Double> a, List<Double> b) {
        Random rnd = new Random(42);
        int n = 4000;
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            r[i] = BenchSupport.median(resample(a, rnd)) / BenchSupport.median(resample(b, rnd));
        }
        Arrays.sort(r);
        return new double[]{r[(int) (n * 0.025)], r[(int) (n * 0.975) - 1]};
    }

    private static List<Double> resample(List<Double> v, Random rnd) {
        List<Double> s = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            s.add(v.get(rnd.nextInt(v.size())));
        }
        return s;
    }

    static String field(String out, String key) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(key) + "=(\\S+)").matcher(out);
        if (!m.find()) {
            System.err.println(key + " missing from: " + BenchSupport.tail(out, 3000));
            System.exit(2);
        }
        return m.group(1);
    }

    static String run(String java, List<String> jvm, Path agent, String options, Path examples, String main,
                      List<String> args, Path root) throws Exception {
        String opts = options == null || options.contains("log.file=") ? options
                : (options.isEmpty() ? "" : options + ",") + "log.file=" + root.resolve("benchmarks/target/rss-bench.log");
        List<String> cmd = BenchSupport.childCommand(java, agent, opts, examples, main, args);
        cmd.addAll(1, jvm);
        Path out = Files.createTempFile("rss-bench-", ".txt");
        Process p = BenchSupport.startChild(cmd, root, out);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            System.err.println(String.join(" ", cmd) + "\n" + BenchSupport.tail(Files.readString(out, StandardCharsets.UTF_8), 3000));
            System.exit(2);
        }
        String s = Files.readString(out, StandardCharsets.UTF_8);
        Files.delete(out);
        return s;
    }
}
