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
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs whole workloads in forked JVMs, alternating without and with the memgov agent in the same
 * run, and reports each figure as a ratio (or a difference) of the medians with to without. It is a
 * report, not a test: it exits 0 whether targets pass or fail (2 only when a run could not be
 * measured at all).
 *
 * <p>Usage, from the repository root (or with {@code -Dmemgov.root=DIR}):
 * {@code java [-Dmemgov.bench.options=host.limit=8g] -cp benchmarks/target/memgov-benchmarks.jar io.memgov.bench.Compare [--quick] [tinyops] [mlp] [startup] [nd4jops] [dl4j]}
 */
public final class Compare {
    private static final long RUN_TIMEOUT_MIN = 15;
    /**
     * More agent options for the runs with the agent, from {@code -Dmemgov.bench.options}, e.g.
     * {@code host.limit=8g} to measure spill mode's hooks while nothing is over the limit.
     */
    private static final String EXTRA = System.getProperty("memgov.bench.options", "").isEmpty() ? ""
            : "," + System.getProperty("memgov.bench.options");

    private Compare() {
    }

    /** One benchmark: a workload main class, the figure it prints, and its target. */
    private static final class Bench {
        final String name;
        final String mainClass;
        final List<String> args;
        final String key;
        final String unit;
        final int reps;
        /** Pass when with/without is at most this; NaN when the target is a difference. */
        final double maxRatio;
        /** Pass when with minus without is at most this; NaN when the target is a ratio. */
        final double maxDelta;
        final List<Double> without = new ArrayList<>();
        final List<Double> with = new ArrayList<>();
        /** A second figure the workload prints, reported beside the first (not judged), or null. */
        String also;
        final List<Double> alsoWithout = new ArrayList<>();
        final List<Double> alsoWith = new ArrayList<>();
        /**
         * Arguments of in-JVM runs that uninstall the governor in half the epochs and print
         * {@code toggle.ratio} (see MlpTraining), run with the agent after the pairs; null for none.
         */
        List<String> toggleArgs;
        int toggleRuns;
        final List<Double> toggles = new ArrayList<>();
        String error;

        Bench(String name, String mainClass, List<String> args, String key, String unit, int reps,
                double maxRatio, double maxDelta) {
            this.name = name;
            this.mainClass = mainClass;
            this.args = args;
            this.key = key;
            this.unit = unit;
            this.reps = reps;
            this.maxRatio = maxRatio;
            this.maxDelta = maxDelta;
        }

        String target() {
            if (!Double.isNaN(maxRatio)) {
                return String.format(Locale.ROOT, "ratio <= %.2fx", maxRatio);
            }
            return String.format(Locale.ROOT, "delta <= +%.0f %s", maxDelta, unit);
        }

        String result() {
            if (error != null) {
                return "ERROR";
            }
            if (!Double.isNaN(maxRatio)) {
                return ratio() <= maxRatio ? "PASS" : "FAIL";
            }
            return delta() <= maxDelta ? "PASS" : "FAIL";
        }

        double ratio() {
            return BenchSupport.median(with) / BenchSupport.median(without);
        }

        double delta() {
            return BenchSupport.median(with) - BenchSupport.median(without);
        }
    }

    public static void main(String[] argv) throws Exception {
        boolean quick = false;
        List<String> only = new ArrayList<>();
        for (String a : argv) {
            if (a.equals("--quick")) {
                quick = true;
            } else if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: Compare [--quick] [tinyops] [mlp] [startup] [nd4jops] [dl4j]   (-Dmemgov.root=DIR, default: the working directory)");
                return;
            } else if (a.startsWith("-")) {
                System.err.println("unknown option " + a);
                System.exit(2);
            } else {
                only.add(a);
            }
        }

        Path root = BenchSupport.findRoot();
        Path agentJar = root.resolve("agent/target/memgov-agent.jar");
        Path examplesJar = root.resolve("examples/target/memgov-examples.jar");
        String java = BenchSupport.javaCommand();

        List<Bench> all = new ArrayList<>();
        all.add(new Bench("tinyops", "io.memgov.examples.TinyOps", List.of(), "tinyops.ns.per.op", "ns/op",
                quick ? 3 : 7, 1.30, Double.NaN));
        Bench mlp = new Bench("mlp", "io.memgov.examples.MlpTraining", List.of("101", "50", "128", "no-checkpoints"), "train.ms",
                "ms", quick ? 3 : 15, 1.05, Double.NaN);
        mlp.also = "cpu.ms"; // the training thread's CPU time over the same epochs
        // the governor's own cost in one JVM, without the noise between JVMs (not judged)
        mlp.toggleArgs = List.of("201", "50", "128", "no-checkpoints", "toggle");
        mlp.toggleRuns = quick ? 2 : 5;
        all.add(mlp);
        all.add(new Bench("startup", "io.memgov.examples.StartupProbe", List.of(), "first.op.ms", "ms",
                quick ? 5 : 11, Double.NaN, 500));
        all.add(new Bench("nd4jops", "io.memgov.examples.Nd4jOps", List.of(), "nd4jops.us.per.op", "us/op",
                quick ? 3 : 5, 1.05, Double.NaN));
        all.add(new Bench("dl4j", "io.memgov.examples.Dl4jTraining", List.of("11", "40", "128"), "train.ms", "ms",
                quick ? 3 : 7, 1.05, Double.NaN));
        List<Bench> benches = new ArrayList<>();
        for (Bench b : all) {
            if (only.isEmpty() || only.contains(b.name)) {
                benches.add(b);
            }
        }
        for (String o : only) {
            if (all.stream().noneMatch(b -> b.name.equals(o))) {
                System.err.println("unknown benchmark " + o + " (tinyops, mlp, startup, nd4jops, dl4j)");
                System.exit(2);
            }
        }

        Runner runner = new Runner(java, root, agentJar, examplesJar);
        System.out.println("memgov benchmarks (" + (quick ? "quick" : "full") + "), root " + root);
        System.out.println("child JVM: " + java + " -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 [-javaagent:" + root.relativize(agentJar)
                + "=log.file=<tmp>" + EXTRA + "] -cp " + root.relativize(examplesJar) + " <main> <args>");

        // DJL extracts its natives on the first run ever; take that (and class-data warm-up) out of the figures.
        try {
            System.out.println("warm-up: StartupProbe without and with the agent (not measured)");
            runner.run("io.memgov.examples.StartupProbe", List.of(), "first.op.ms", null, false);
            runner.run("io.memgov.examples.StartupProbe", List.of(), "first.op.ms", null, true);
        } catch (RunFailed e) {
            System.out.println("warm-up failed: " + e.getMessage());
        }

        for (Bench b : benches) {
            System.out.println();
            System.out.println(b.name + ": " + b.mainClass + " " + String.join(" ", b.args) + " (" + b.reps
                    + " repetitions, alternating without/with)");
            try {
                for (int i = 0; i < b.reps; i++) {
                    // alternate which goes first, so drift over the run does not favour one side
                    boolean agentFirst = i % 2 == 1;
                    double[] first = runner.run(b.mainClass, b.args, b.key, b.also, agentFirst);
                    double[] second = runner.run(b.mainClass, b.args, b.key, b.also, !agentFirst);
                    double[] wo = agentFirst ? second : first;
                    double[] wi = agentFirst ? first : second;
                    b.without.add(wo[0]);
                    b.with.add(wi[0]);
                    String also = "";
                    if (b.also != null) {
                        b.alsoWithout.add(wo[1]);
                        b.alsoWith.add(wi[1]);
                        also = String.format(Locale.ROOT, "; %s without=%s with=%s (ratio %.3f)", b.also, fmt(wo[1]),
                                fmt(wi[1]), wi[1] / wo[1]);
                    }
                    System.out.println(String.format(Locale.ROOT, "  rep %d/%d: without=%s with=%s %s (ratio %.3f)%s",
                            i + 1, b.reps, fmt(wo[0]), fmt(wi[0]), b.unit, wi[0] / wo[0], also));
                }
                if (b.toggleArgs != null) {
                    System.out.println(b.name + " toggle: " + b.mainClass + " " + String.join(" ", b.toggleArgs)
                            + " with the agent (" + b.toggleRuns + " runs): governed/ungoverned epochs' CPU time in one JVM");
                    for (int i = 0; i < b.toggleRuns; i++) {
                        double r = runner.run(b.mainClass, b.toggleArgs, "toggle.ratio", null, true)[0];
                        b.toggles.add(r);
                        System.out.println(String.format(Locale.ROOT, "  run %d/%d: toggle.ratio=%.3f", i + 1, b.toggleRuns, r));
                    }
                }
            } catch (RunFailed e) {
                b.error = e.getMessage();
                System.out.println("  ERROR: " + e.getMessage());
            }
        }

        String[] header = {"benchmark", "figure", "runs", "without (median)", "with (median)", "ratio (with/without)",
            "with - without", "target", "result"};
        List<String[]> rows = new ArrayList<>();
        boolean anyError = false;
        for (Bench b : benches) {
            if (b.error != null || b.without.isEmpty()) {
                anyError = true;
                rows.add(new String[] {b.name, b.key, "0", "-", "-", "-", "-", b.target(), "ERROR"});
                continue;
            }
            double mw = BenchSupport.median(b.without);
            double mi = BenchSupport.median(b.with);
            rows.add(new String[] {b.name, b.key, b.without.size() + "+" + b.with.size(),
                fmt(mw) + " " + b.unit, fmt(mi) + " " + b.unit,
                String.format(Locale.ROOT, "%.3fx", mi / mw),
                String.format(Locale.ROOT, "%+.1f %s", mi - mw, b.unit), b.target(), b.result()});
        }

        System.out.println();
        System.out.print(BenchSupport.textTable(header, rows));
        for (String line : alsoLines(benches)) {
            System.out.println(line);
        }

        Path results = root.resolve("benchmarks/target/results.md");
        try {
            Files.createDirectories(results.getParent());
            Files.write(results, markdown(header, rows, benches, quick, java).getBytes(StandardCharsets.UTF_8));
            System.out.println("written: " + results);
        } catch (IOException e) {
            System.out.println("could not write " + results + ": " + e);
        }
        System.exit(anyError ? 2 : 0);
    }

    /** A child run that produced no figure. */
    private static final class RunFailed extends Exception {
        private static final long serialVersionUID = 1L;

        RunFailed(String message) {
            super(message);
        }
    }

    /** Forks one workload JVM and returns the figure it printed. */
    private static final class Runner {
        private final String java;
        private final Path root;
        private final Path agentJar;
        private final Path examplesJar;

        Runner(String java, Path root, Path agentJar, Path examplesJar) {
            this.java = java;
            this.root = root;
            this.agentJar = agentJar;
            this.examplesJar = examplesJar;
        }

        /** The run's {@code key} figure, and its {@code also} figure when {@code also} is not null. */
        double[] run(String mainClass, List<String> args, String key, String also, boolean agent) throws RunFailed, IOException,
                InterruptedException {
            Path out = Files.createTempFile("memgov-bench-", ".out");
            Path log = agent ? Files.createTempFile("memgov-bench-", ".agent.log") : null;
            boolean keep = false;
            try {
                List<String> cmd = BenchSupport.childCommand(java, agentJar, agent ? "log.file=" + log + EXTRA : null,
                        examplesJar, mainClass, args);
                Process p = BenchSupport.startChild(cmd, root, out);
                if (!p.waitFor(RUN_TIMEOUT_MIN, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    p.waitFor();
                    keep = true;
                    throw new RunFailed(describe(cmd) + " timed out after " + RUN_TIMEOUT_MIN + " min; output in " + out);
                }
                String text = new String(Files.readAllBytes(out), StandardCharsets.UTF_8);
                Double figure = figure(text, key);
                Double second = also == null ? null : figure(text, also);
                if (p.exitValue() != 0 || figure == null || also != null && second == null) {
                    keep = true;
                    throw new RunFailed(describe(cmd) + " exited " + p.exitValue() + " without " + key + "="
                            + (also == null ? "" : " and " + also + "=") + "; output in " + out
                            + (log != null ? ", agent log in " + log : "") + "; tail:\n" + BenchSupport.tail(text, 1500));
                }
                return second == null ? new double[] {figure} : new double[] {figure, second};
            } finally {
                if (!keep) {
                    Files.deleteIfExists(out);
                    if (log != null) {
                        Files.deleteIfExists(log);
                    }
                }
            }
        }

        /** The value of the output's {@code key=NUMBER} line, or null when it has none. */
        private static Double figure(String text, String key) {
            Matcher m = Pattern.compile("(?m)^" + Pattern.quote(key) + "=([0-9]+(?:\\.[0-9]+)?)\\s*$").matcher(text);
            return m.find() ? Double.parseDouble(m.group(1)) : null;
        }

        private static String describe(List<String> cmd) {
            return String.join(" ", cmd);
        }
    }

    private static String fmt(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            return Long.toString((long) d);
        }
        return String.format(Locale.ROOT, "%.1f", d);
    }

    private static String markdown(String[] header, List<String[]> rows, List<Bench> benches, boolean quick,
            String java) {
        StringBuilder sb = new StringBuilder();
        sb.append("# memgov benchmark results\n\n");
        sb.append("- when: ").append(OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS)).append('\n');
        sb.append("- mode: ").append(quick ? "quick (--quick)" : "full").append('\n');
        sb.append("- java: ").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.runtime.version")).append(" (").append(java).append(")\n");
        sb.append("- host: ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.arch"))
                .append(", ").append(Runtime.getRuntime().availableProcessors()).append(" CPUs\n");
        sb.append("- method: each workload runs in a fresh JVM, alternating without/with the agent in the same run;"
                + " figures are medians; the agent writes to a temp log.file\n\n");
        sb.append('|');
        for (String h : header) {
            sb.append(' ').append(h).append(" |");
        }
        sb.append("\n|");
        for (int i = 0; i < header.length; i++) {
            sb.append(i < 2 || i >= header.length - 2 ? "---|" : "---:|");
        }
        sb.append('\n');
        for (String[] r : rows) {
            sb.append('|');
            for (String c : r) {
                sb.append(' ').append(c).append(" |");
            }
            sb.append('\n');
        }
        for (String line : alsoLines(benches)) {
            sb.append('\n').append(line).append('\n');
        }
        sb.append("\n## Runs\n\n");
        for (Bench b : benches) {
            sb.append("- ").append(b.name).append(" (`").append(b.mainClass).append(b.args.isEmpty() ? "" : " ")
                    .append(String.join(" ", b.args)).append("`, ").append(b.key).append(", ").append(b.unit)
                    .append("): without ").append(list(b.without)).append(", with ").append(list(b.with));
            if (b.also != null) {
                sb.append("; ").append(b.also).append(": without ").append(list(b.alsoWithout)).append(", with ")
                        .append(list(b.alsoWith));
            }
            if (!b.toggles.isEmpty()) {
                sb.append("; toggle.ratio (one JVM, with the agent): ").append(b.toggles);
            }
            if (b.error != null) {
                sb.append("; error: ").append(b.error.replace('\n', ' '));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** One line per benchmark with a second figure (its medians and their ratio), and one with toggle runs. */
    private static List<String> alsoLines(List<Bench> benches) {
        List<String> lines = new ArrayList<>();
        for (Bench b : benches) {
            if (b.also != null && !b.alsoWith.isEmpty()) {
                double mw = BenchSupport.median(b.alsoWithout);
                double mi = BenchSupport.median(b.alsoWith);
                lines.add(String.format(Locale.ROOT, "%s, also %s (not judged): without %s, with %s (medians), ratio %.3fx",
                        b.name, b.also, fmt(mw), fmt(mi), mi / mw));
            }
            if (!b.toggles.isEmpty()) {
                lines.add(String.format(Locale.ROOT, "%s, also in one JVM (toggle, not judged): governed/ungoverned epochs %.3fx"
                        + " (median of %d runs, %.3f-%.3f)", b.name, BenchSupport.median(b.toggles), b.toggles.size(),
                        java.util.Collections.min(b.toggles), java.util.Collections.max(b.toggles)));
            }
        }
        return lines;
    }

    private static String list(List<Double> v) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < v.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(fmt(v.get(i)));
        }
        return sb.append(']').toString();
    }
}
