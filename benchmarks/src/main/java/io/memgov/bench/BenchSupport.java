package io.memgov.bench;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** What Compare and SpillBench share: finding the build, the java to fork, medians and tables. */
final class BenchSupport {
    private BenchSupport() {
    }

    static Path findRoot() {
        String prop = System.getProperty("memgov.root");
        List<Path> candidates = new ArrayList<>();
        if (prop != null && !prop.isEmpty()) {
            candidates.add(Paths.get(prop));
        } else {
            Path cwd = Paths.get("").toAbsolutePath();
            candidates.add(cwd);
            if (cwd.getParent() != null) {
                candidates.add(cwd.getParent()); // run from benchmarks/
            }
        }
        for (Path c : candidates) {
            Path p = c.toAbsolutePath().normalize();
            if (Files.isRegularFile(p.resolve("agent/target/memgov-agent.jar"))
                    && Files.isRegularFile(p.resolve("examples/target/memgov-examples.jar"))) {
                return p;
            }
        }
        System.err.println("cannot find agent/target/memgov-agent.jar and examples/target/memgov-examples.jar under "
                + candidates + "; build first (mvn -B -o install -DskipTests) and run from the repository root or set -Dmemgov.root");
        System.exit(2);
        return null;
    }

    static String javaCommand() {
        String exe = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("win") ? "java.exe" : "java";
        File f = new File(System.getProperty("java.home"), "bin" + File.separator + exe);
        if (f.canExecute()) {
            return f.getAbsolutePath();
        }
        return ProcessHandle.current().info().command().orElse("java");
    }

    static String tail(String s, int n) {
        return s.length() <= n ? s : "..." + s.substring(s.length() - n);
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        int n = v.length;
        if (n == 0) {
            return Double.NaN;
        }
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /**
     * A distribution-free 95% confidence interval of the median (order statistics: the ranks
     * n/2 -+ 1.96 sqrt(n)/2), as {low, high}; the whole range when there are too few values.
     */
    static double[] medianInterval(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = v.length;
        if (n == 0) {
            return new double[]{Double.NaN, Double.NaN};
        }
        double half = 1.96 * Math.sqrt(n) / 2;
        int lo = Math.max(1, (int) Math.floor(n / 2.0 - half));
        int hi = Math.min(n, (int) Math.ceil(1 + n / 2.0 + half));
        return new double[]{v[lo - 1], v[hi - 1]};
    }

    static String textTable(String[] header, List<String[]> rows) {
        int[] w = new int[header.length];
        for (int i = 0; i < header.length; i++) {
            w[i] = header[i].length();
            for (String[] r : rows) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        appendRow(sb, header, w);
        StringBuilder rule = new StringBuilder();
        for (int i = 0; i < w.length; i++) {
            rule.append(i == 0 ? "" : "  ").append("-".repeat(w[i]));
        }
        sb.append(rule).append('\n');
        for (String[] r : rows) {
            appendRow(sb, r, w);
        }
        return sb.toString();
    }

    static void appendRow(StringBuilder sb, String[] cells, int[] w) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) {
                line.append("  ");
            }
            line.append(cells[i]).append(" ".repeat(w[i] - cells[i].length()));
        }
        sb.append(line.toString().replaceAll("\\s+$", "")).append('\n');
    }

    /**
     * The command of one measured child JVM: {@code agentOptions} null runs it without the agent.
     * Both variants pin libtorch to one thread: on a 2-core machine the JIT threads otherwise steal
     * the second core from libtorch's parallel ops at random and swamp the comparison.
     */
    static List<String> childCommand(String java, Path agentJar, String agentOptions, Path examplesJar,
                                     String mainClass, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-Dai.djl.pytorch.num_threads=1");
        cmd.add("-Dai.djl.pytorch.num_interop_threads=1");
        if (agentOptions != null) {
            cmd.add("-javaagent:" + agentJar + "=" + agentOptions);
        }
        cmd.add("-cp");
        cmd.add(examplesJar.toString());
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /** Starts a child JVM from {@code root}, output and errors to {@code out}; libnd4j's OpenMP pinned to one thread too. */
    static Process startChild(List<String> cmd, Path root, Path out) throws java.io.IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        return pb.start();
    }
}
