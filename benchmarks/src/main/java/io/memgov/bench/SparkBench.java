package io.memgov.bench;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The Spark example job ({@code io.memgov.examples.spark.SparkInference}) on a Spark standalone cluster on
 * 127.0.0.1 (a Master and two Workers of 1 core each, from {@code benchmarks/target/spark-home/jars}, the
 * jars Maven resolved), submitted {@code 2 x reps} times, alternately without memgov and with the agent on
 * every executor without a limit; the job's action time ({@code job.ms}, the driver's) and the whole
 * spark-submit wall time, medians, as ratios with/without. Every governed run's digests must equal the
 * first run's. A report, not a test: exits 0 unless a run failed or a result differed (2). Usage, from
 * the repository root after {@code mvn -B package -DskipTests}:
 * {@code java -cp benchmarks/target/memgov-benchmarks.jar io.memgov.bench.SparkBench [reps] [job args]}
 */
public final class SparkBench {
    static final String JOB = "io.memgov.examples.spark.SparkInference";
    static final Set<String> SPARK_HAS = Set.of("commons-codec", "commons-collections4", "commons-compress",
            "commons-io", "commons-lang3", "commons-math3", "gson", "slf4j-api");

    private SparkBench() {
    }

    public static void main(String[] argv) throws Exception {
        int reps = argv.length > 0 ? Integer.parseInt(argv[0]) : 3;
        String[] job = argv.length > 1 ? Arrays.copyOfRange(argv, 1, argv.length) : new String[]{"8", "4", "4", "300", "12", "4"};
        Path root = BenchSupport.findRoot();
        Path sparkHome = root.resolve("benchmarks/target/spark-home");
        if (!Files.isDirectory(sparkHome.resolve("jars"))) {
            System.err.println("no " + sparkHome.resolve("jars") + ": build with mvn -B package -DskipTests -pl benchmarks -am");
            System.exit(2);
        }
        Path dir = root.resolve("benchmarks/target/spark-bench");
        delete(dir);
        Files.createDirectories(dir);
        List<Process> daemons = new ArrayList<>();
        int code = 0;
        try {
            int port = freePort();
            String master = "spark://127.0.0.1:" + port;
            daemons.add(daemon(sparkHome, dir, "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                    "--port", String.valueOf(port), "--webui-port", String.valueOf(freePort())));
            waitFor(dir.resolve("master.err"), "I have been elected leader", 90);
            for (int i = 0; i < 2; i++) {
                Path work = Files.createDirectories(dir.resolve("worker-" + i));
                daemons.add(daemon(sparkHome, dir, "worker-" + i, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                        "--webui-port", String.valueOf(freePort()), "--cores", "1", "--memory", "1g", "--work-dir", work.toString(), master));
            }
            for (int i = 0; i < 2; i++) {
                waitFor(dir.resolve("worker-" + i + ".err"), "Successfully registered with master", 90);
            }
            String agent = "-javaagent:" + root.resolve("agent/target/memgov-agent.jar") + "=log.file=memgov-{executor}-{pid}.log";
            List<Double> jobPlain = new ArrayList<>();
            List<Double> jobAgent = new ArrayList<>();
            List<Double> wallPlain = new ArrayList<>();
            List<Double> wallAgent = new ArrayList<>();
            String expected = null;
            for (int r = 0; r < reps; r++) {
                for (int v = 0; v < 2; v++) {
                    boolean governed = (r + v) % 2 == 1; // rotate which goes first
                    long t0 = System.nanoTime();
                    String out = submit(sparkHome, root, dir, master, governed ? agent : null, "run-" + r + "-" + v, job);
                    double wall = (System.nanoTime() - t0) / 1e6;
                    String digest = line(out, "job.digest=");
                    double ms = Double.parseDouble(line(out, "job.ms=").split(" ")[0].substring("job.ms=".length()));
                    if (expected == null) {
                        expected = digest;
                    } else if (!expected.equals(digest)) {
                        System.err.println("results differ: " + digest + " vs " + expected);
                        code = 2;
                    }
                    (governed ? jobAgent : jobPlain).add(ms);
                    (governed ? wallAgent : wallPlain).add(wall);
                    System.out.printf(Locale.ROOT, "rep %d %-9s job.ms=%.0f submit.ms=%.0f %s%n", r, governed ? "agent" : "no agent",
                            ms, wall, digest);
                }
            }
            double jp = BenchSupport.median(jobPlain);
            double ja = BenchSupport.median(jobAgent);
            double wp = BenchSupport.median(wallPlain);
            double wa = BenchSupport.median(wallAgent);
            List<Double> pairs = new ArrayList<>();
            for (int r = 0; r < reps; r++) {
                pairs.add(jobAgent.get(r) / jobPlain.get(r));
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[]{"job action (job.ms)", f(jp), f(ja), String.format(Locale.ROOT, "%.3fx", ja / jp)});
            rows.add(new String[]{"spark-submit wall", f(wp), f(wa), String.format(Locale.ROOT, "%.3fx", wa / wp)});
            System.out.println();
            System.out.println("SparkInference " + String.join(" ", job) + " on 2 executors (1 core, 512m each), no limit, median of "
                    + reps + " each");
            System.out.print(BenchSupport.textTable(new String[]{"measure", "no agent ms", "agent ms", "agent/no agent"}, rows));
            System.out.println("job.ms ratio of each pair (same rep, back to back): " + pairs.stream()
                    .map(x -> String.format(Locale.ROOT, "%.3f", x)).collect(Collectors.joining(" "))
                    + ", median " + String.format(Locale.ROOT, "%.3fx", BenchSupport.median(pairs))
                    + "; load average at the end: " + loadAverage());
        } finally {
            for (int i = daemons.size() - 1; i >= 0; i--) {
                Process d = daemons.get(i);
                d.descendants().forEach(ProcessHandle::destroy);
                d.destroy();
            }
            for (Process d : daemons) {
                if (!d.waitFor(20, TimeUnit.SECONDS)) {
                    d.descendants().forEach(ProcessHandle::destroyForcibly);
                    d.destroyForcibly();
                }
            }
            delete(dir);
        }
        System.exit(code);
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    static String f(double ms) {
        return String.format(Locale.ROOT, "%.0f", ms);
    }

    static String line(String out, String prefix) {
        return out.lines().filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no " + prefix + " in:\n" + BenchSupport.tail(out, 4000)));
    }

    static List<String> moduleOptions(Path sparkHome) throws Exception {
        Path launcher;
        try (Stream<Path> jars = Files.list(sparkHome.resolve("jars"))) {
            launcher = jars.filter(p -> p.getFileName().toString().startsWith("spark-launcher_")).findFirst().orElseThrow();
        }
        try (URLClassLoader l = new URLClassLoader(new URL[]{launcher.toUri().toURL()}, null)) {
            String opts = (String) l.loadClass("org.apache.spark.launcher.JavaModuleOptions").getMethod("defaultModuleOptions").invoke(null);
            return Arrays.asList(opts.trim().split("\\s+"));
        }
    }

    static void env(ProcessBuilder pb, Path sparkHome, Path dir) throws IOException {
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("MEMGOV_") || k.startsWith("SPARK_"));
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("SPARK_LOCAL_DIRS", Files.createDirectories(dir.resolve("local")).toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("JAVA_HOME", System.getProperty("java.home"));
    }

    static Process daemon(Path sparkHome, Path dir, String name, String main, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(BenchSupport.javaCommand()));
        cmd.addAll(moduleOptions(sparkHome));
        cmd.addAll(List.of("-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", sparkHome.resolve("jars") + File.separator + "*", main));
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(dir.resolve(name + ".out").toFile()).redirectError(dir.resolve(name + ".err").toFile());
        env(pb, sparkHome, dir);
        return pb.start();
    }

    static String submit(Path sparkHome, Path root, Path dir, String master, String agent, String name, String[] job)
            throws Exception {
        String jars;
        try (Stream<Path> s = Files.list(root.resolve("examples/target/lib"))) {
            jars = s.filter(p -> !SPARK_HAS.contains(p.getFileName().toString().replaceAll("-[0-9].*$", ""))).sorted()
                    .map(Path::toString).collect(Collectors.joining(File.pathSeparator));
        }
        String opts = "-Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1";
        if (agent != null) {
            opts = agent + " " + opts;
        }
        List<String> cmd = new ArrayList<>(List.of(BenchSupport.javaCommand()));
        cmd.addAll(moduleOptions(sparkHome));
        cmd.addAll(List.of("-Xmx512m", "-cp", sparkHome.resolve("jars") + File.separator + "*",
                "org.apache.spark.deploy.SparkSubmit", "--master", master, "--deploy-mode", "client", "--class", JOB));
        for (String c : new String[]{"spark.executor.memory=512m", "spark.executor.cores=1", "spark.cores.max=2",
            "spark.driver.memory=512m", "spark.driver.host=127.0.0.1", "spark.driver.bindAddress=127.0.0.1",
            "spark.ui.enabled=false", "spark.scheduler.minRegisteredResourcesRatio=1.0",
            "spark.executorEnv.OMP_NUM_THREADS=1", "spark.executor.extraClassPath=" + jars,
            "spark.executor.extraJavaOptions=" + opts}) {
            cmd.add("--conf");
            cmd.add(c);
        }
        cmd.add(root.resolve("examples/target/memgov-examples.jar").toString());
        cmd.addAll(Arrays.asList(job));
        Path out = dir.resolve(name + ".out");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(dir.resolve(name + ".err").toFile());
        env(pb, sparkHome, dir);
        Process p = pb.start();
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException(name + " failed; see " + dir.resolve(name + ".err") + ":\n"
                    + BenchSupport.tail(Files.readString(dir.resolve(name + ".err"), StandardCharsets.UTF_8), 3000));
        }
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    static void waitFor(Path log, String line, int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            if (Files.exists(log) && Files.readString(log, StandardCharsets.ISO_8859_1).contains(line)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(log + ": no '" + line + "' after " + seconds + " s");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    static void delete(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
