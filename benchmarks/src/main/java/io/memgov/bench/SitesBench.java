package io.memgov.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cost of allocation sites: the tiny-op workload ({@code io.memgov.examples.TinyOps}) with the agent
 * at {@code memgov.sites=off} and at {@code memgov.sites=sample} (or another mode), alternating in the
 * same run, as a ratio of medians. Target: sample at most 1.05x off. A report, not a test: exits 0
 * whatever the figure (2 when a run could not be measured).
 *
 * <p>Usage, from the repository root: {@code java -cp benchmarks/target/memgov-benchmarks.jar
 * io.memgov.bench.SitesBench [reps, default 7] [mode, default sample] [TinyOps args...]}
 *
 * <p>With {@code -Dmemgov.bench.baseline=/path/to/an-earlier/memgov-agent.jar}, each repetition runs four
 * variants in a rotating order: no agent, the earlier agent at {@code sites=<mode>}, this agent at
 * {@code sites=off} and at {@code sites=<mode>}, and prints each median as a ratio to no agent (before vs
 * after in the same run). {@code -Dmemgov.bench.workload=mlp} runs {@code MlpTraining 101 50 128
 * no-checkpoints} (figure {@code train.ms}) instead of TinyOps.
 */
public final class SitesBench {
    private SitesBench() {
    }

    public static void main(String[] argv) throws Exception {
        if (System.getProperty("memgov.bench.baseline") != null) {
            beforeAfter(argv);
            return;
        }
        int reps = argv.length > 0 ? Integer.parseInt(argv[0]) : 7;
        String mode = argv.length > 1 ? argv[1] : "sample";
        List<String> args = new ArrayList<>();
        for (int i = 2; i < argv.length; i++) {
            args.add(argv[i]);
        }
        Path root = BenchSupport.findRoot();
        Path agentJar = root.resolve("agent/target/memgov-agent.jar");
        Path examplesJar = root.resolve("examples/target/memgov-examples.jar");
        String java = BenchSupport.javaCommand();
        List<Double> off = new ArrayList<>();
        List<Double> on = new ArrayList<>();
        System.out.println("sites cost: io.memgov.examples.TinyOps " + String.join(" ", args) + ", agent with sites=off vs sites="
                + mode + ", " + reps + " repetitions alternating");
        run(java, root, agentJar, examplesJar, "off", args); // warm-up, not measured
        for (int i = 0; i < reps; i++) {
            boolean onFirst = i % 2 == 1;
            double a = run(java, root, agentJar, examplesJar, onFirst ? mode : "off", args);
            double b = run(java, root, agentJar, examplesJar, onFirst ? "off" : mode, args);
            double wOff = onFirst ? b : a;
            double wOn = onFirst ? a : b;
            off.add(wOff);
            on.add(wOn);
            System.out.println(String.format(Locale.ROOT, "  rep %d/%d: sites=off %.1f ns/op, sites=%s %.1f ns/op (ratio %.3f)",
                    i + 1, reps, wOff, mode, wOn, wOn / wOff));
        }
        double mOff = BenchSupport.median(off);
        double mOn = BenchSupport.median(on);
        double ratio = mOn / mOff;
        System.out.println(String.format(Locale.ROOT, "tinyops sites=off median %.1f ns/op, sites=%s median %.1f ns/op: ratio %.3fx (target <= 1.05x: %s)",
                mOff, mode, mOn, ratio, ratio <= 1.05 ? "PASS" : "FAIL"));
    }

    /** No agent, the baseline agent at sites=mode, this agent at sites=off and sites=mode: medians as ratios to no agent. */
    private static void beforeAfter(String[] argv) throws Exception {
        int reps = argv.length > 0 ? Integer.parseInt(argv[0]) : 7;
        String mode = argv.length > 1 ? argv[1] : "sample";
        boolean mlp = "mlp".equals(System.getProperty("memgov.bench.workload"));
        String main = mlp ? "io.memgov.examples.MlpTraining" : "io.memgov.examples.TinyOps";
        String key = mlp ? "train.ms" : "tinyops.ns.per.op";
        List<String> args = new ArrayList<>();
        for (int i = 2; i < argv.length; i++) {
            args.add(argv[i]);
        }
        if (mlp && args.isEmpty()) {
            args.addAll(List.of("101", "50", "128", "no-checkpoints"));
        }
        Path root = BenchSupport.findRoot();
        Path baseline = Path.of(System.getProperty("memgov.bench.baseline")).toAbsolutePath();
        Path agentJar = root.resolve("agent/target/memgov-agent.jar");
        Path examplesJar = root.resolve("examples/target/memgov-examples.jar");
        String java = BenchSupport.javaCommand();
        String[] names = {"no agent", "before, sites=" + mode, "after, sites=off", "after, sites=" + mode};
        Path[] jars = {null, baseline, agentJar, agentJar};
        String[] modes = {null, mode, "off", mode};
        List<List<Double>> figures = new ArrayList<>();
        for (int v = 0; v < 4; v++) {
            figures.add(new ArrayList<>());
        }
        System.out.println("sites cost, before vs after: " + main + " " + String.join(" ", args) + ", " + reps
                + " rotations of: " + String.join(" / ", names) + " (before: " + baseline + ")");
        run(java, root, agentJar, examplesJar, "off", main, key, args); // warm-up, not measured
        for (int i = 0; i < reps; i++) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  rep %d/%d:", i + 1, reps));
            for (int k = 0; k < 4; k++) {
                int v = (k + i) % 4; // the order rotates, so drift favours no variant
                double f = run(java, root, jars[v], examplesJar, modes[v], main, key, args);
                figures.get(v).add(f);
                line.append(String.format(Locale.ROOT, " %s %.1f;", names[v], f));
            }
            System.out.println(line);
        }
        double base = BenchSupport.median(figures.get(0));
        StringBuilder sb = new StringBuilder(key + " medians:");
        for (int v = 0; v < 4; v++) {
            double m = BenchSupport.median(figures.get(v));
            sb.append(String.format(Locale.ROOT, " %s %.1f (%.3fx);", names[v], m, m / base));
        }
        System.out.println(sb);
        // per-rotation ratios to no agent, their medians: less sensitive to drift across the run
        StringBuilder pr = new StringBuilder("median of per-rotation ratios to no agent:");
        for (int v = 1; v < 4; v++) {
            List<Double> r = new ArrayList<>();
            for (int i = 0; i < reps; i++) {
                r.add(figures.get(v).get(i) / figures.get(0).get(i));
            }
            pr.append(String.format(Locale.ROOT, " %s %.3fx;", names[v], BenchSupport.median(r)));
        }
        System.out.println(pr);
    }

    private static double run(String java, Path root, Path agentJar, Path examplesJar, String mode, List<String> args)
            throws Exception {
        return run(java, root, agentJar, examplesJar, mode, "io.memgov.examples.TinyOps", "tinyops.ns.per.op", args);
    }

    private static double run(String java, Path root, Path agentJar, Path examplesJar, String mode, String main,
                              String key, List<String> args) throws Exception {
        Path out = Files.createTempFile("memgov-sites-", ".out");
        Path log = Files.createTempFile("memgov-sites-", ".log");
        try {
            List<String> cmd = BenchSupport.childCommand(java, agentJar, agentJar == null ? null : "log.file=" + log + ",sites=" + mode,
                    examplesJar, main, args);
            Process p = BenchSupport.startChild(cmd, root, out);
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", cmd));
            }
            String text = new String(Files.readAllBytes(out), StandardCharsets.UTF_8);
            Matcher m = Pattern.compile("(?m)^" + Pattern.quote(key) + "=([0-9.]+)\\s*$").matcher(text);
            if (p.exitValue() != 0 || !m.find()) {
                System.out.println(String.join(" ", cmd) + " exited " + p.exitValue() + ":\n" + BenchSupport.tail(text, 1500));
                System.exit(2);
            }
            return Double.parseDouble(m.group(1));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(log);
        }
    }
}
