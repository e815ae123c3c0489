package io.memgov.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The governor's hot-path cost before and after a change, in the same run: each workload in fresh
 * JVMs with the agent jar built before the change ({@code BEFORE.jar}) and with this tree's
 * ({@code agent/target/memgov-agent.jar}), alternating which goes first, and the median of the
 * per-pair ratios after/before. Workloads: {@code TinyOps} (ns per tiny DJL op, governed plain and in
 * spill mode under {@code host.limit=8g}), {@code Nd4jOps} (us per small ND4J op) and the MLP loop's
 * toggle ({@code MlpTraining ... toggle}: governed/ungoverned epochs' CPU time in one JVM, the
 * governor's own cost per tensor without the noise between JVMs), and whole JVMs' wall time (start to
 * exit: class loading, rewriting and the JIT included) for DL4J training and DJL's spill passes. A
 * report, not a test.
 *
 * <p>Usage, from the repository root: {@code java -cp benchmarks/target/memgov-benchmarks.jar
 * io.memgov.bench.BeforeAfter BEFORE.jar [pairs] [workload name prefix]}. To get {@code BEFORE.jar}:
 * {@code git worktree add /tmp/before <commit> && (cd /tmp/before && mvn -B -q -o package -DskipTests
 * -pl runtime,agent)}, then {@code /tmp/before/agent/target/memgov-agent.jar}.
 */
public final class BeforeAfter {
    private BeforeAfter() {
    }

    public static void main(String[] argv) throws Exception {
        if (argv.length < 1) {
            System.err.println("usage: BeforeAfter BEFORE-agent.jar [pairs]");
            System.exit(2);
        }
        Path before = Paths.get(argv[0]).toAbsolutePath();
        int pairs = argv.length > 1 ? Integer.parseInt(argv[1]) : 7;
        String only = argv.length > 2 ? argv[2] : ""; // run only the workloads whose name starts with this
        Path root = BenchSupport.findRoot();
        Path after = root.resolve("agent/target/memgov-agent.jar");
        Path examples = root.resolve("examples/target/memgov-examples.jar");
        String java = BenchSupport.javaCommand();
        String[][] workloads = {
            {"TinyOps", "io.memgov.examples.TinyOps", "", "tinyops.ns.per.op", "ns/op"},
            {"TinyOps, spill mode (host.limit=8g)", "io.memgov.examples.TinyOps", "host.limit=8g", "tinyops.ns.per.op", "ns/op"},
            {"Nd4jOps", "io.memgov.examples.Nd4jOps", "", "nd4jops.us.per.op", "us/op"},
            {"MLP toggle (governed/ungoverned CPU)", "io.memgov.examples.MlpTraining 201 50 128 no-checkpoints toggle", "",
                "toggle.ratio", "ratio"},
            // the whole JVM, start to exit: what class loading and rewriting (and the JIT) cost too
            {"Whole JVM: DL4J training, 3 epochs", "io.memgov.examples.Dl4jTraining 3 40 128", "", WALL, "ms"},
            {"Whole JVM: DJL spill passes under 16m", "io.memgov.examples.SpillBenchWorkload 16 4 1 djl", "host.limit=16m",
                WALL, "ms"}};
        List<String[]> rows = new ArrayList<>();
        for (String[] w : workloads) {
            if (!w[0].startsWith(only)) {
                continue;
            }
            String[] main = w[1].split(" ");
            List<String> args = List.of(main).subList(1, main.length);
            List<Double> b = new ArrayList<>();
            List<Double> a = new ArrayList<>();
            List<Double> ratios = new ArrayList<>();
            for (int p = 0; p < pairs; p++) {
                double[] fig = new double[2];
                for (int k = 0; k < 2; k++) {
                    boolean first = (p + k) % 2 == 0; // which jar goes first alternates
                    Path jar = first ? before : after;
                    String options = "log.file=" + root.resolve("benchmarks/target/before-after.log")
                            + (w[2].isEmpty() ? "" : "," + w[2]);
                    fig[first ? 0 : 1] = run(java, jar, options, examples, main[0], args, w[3], root);
                }
                b.add(fig[0]);
                a.add(fig[1]);
                ratios.add(fig[1] / fig[0]);
            }
            double[] ci = BenchSupport.medianInterval(ratios);
            rows.add(new String[]{w[0], String.format(Locale.ROOT, "%.2f %s", BenchSupport.median(b), w[4]),
                String.format(Locale.ROOT, "%.2f %s", BenchSupport.median(a), w[4]),
                String.format(Locale.ROOT, "%.3fx", BenchSupport.median(ratios)),
                String.format(Locale.ROOT, "%.3f-%.3fx", ci[0], ci[1])});
            System.out.println(w[0] + ": done");
        }
        System.out.println("Before (" + before + ") and after (" + after + "), " + pairs + " alternating pairs:");
        System.out.print(BenchSupport.textTable(new String[]{"workload", "before (median)", "after (median)",
            "after/before (median of pairs)", "95% CI of the median"}, rows));
    }

    /** The figure key that means the child's wall time, from its start to its exit, in ms. */
    static final String WALL = "wall.ms";

    private static double run(String java, Path agent, String options, Path examples, String main, List<String> args,
                              String key, Path root) throws Exception {
        Path out = Files.createTempFile("memgov-before-after-", ".out");
        try {
            long t0 = System.nanoTime();
            Process p = BenchSupport.startChild(BenchSupport.childCommand(java, agent, options, examples, main, args), root, out);
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException(main + " timed out");
            }
            double wallMs = (System.nanoTime() - t0) / 1e6;
            String text = new String(Files.readAllBytes(out), StandardCharsets.UTF_8);
            if (key.equals(WALL)) {
                if (p.exitValue() != 0) {
                    throw new IllegalStateException(main + " with " + agent + " exited " + p.exitValue() + ":\n"
                            + BenchSupport.tail(text, 1500));
                }
                return wallMs;
            }
            Matcher m = Pattern.compile("(?m)^" + Pattern.quote(key) + "=([0-9.]+)\\s*$").matcher(text);
            if (p.exitValue() != 0 || !m.find()) {
                throw new IllegalStateException(main + " with " + agent + " exited " + p.exitValue() + " without " + key
                        + ":\n" + BenchSupport.tail(text, 1500));
            }
            return Double.parseDouble(m.group(1));
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
