package io.memgov.it;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real Spark standalone cluster on 127.0.0.1: one Master and {@code workers} Workers, each its own JVM
 * started from {@code SPARK_HOME/jars} (the jars Maven resolved into target/spark-home), each Worker with
 * 1 core and 1 GiB for executors, all under one directory. {@link #close()} stops every JVM of the cluster
 * (the executors the Workers launched first), checks that its ports are free again and removes its
 * directory; it runs whether the test passed or not.
 */
final class SparkCluster implements AutoCloseable {
    static final Path SPARK_HOME = Paths.get(System.getProperty("memgov.spark.home", "target/spark-home")).toAbsolutePath();
    static final String SPARK_VERSION = System.getProperty("memgov.spark.version", "3.5.8");

    final Path dir;
    final int masterPort;
    final List<Integer> ports = new ArrayList<>();
    final List<Process> daemons = new ArrayList<>();
    final List<Path> workerDirs = new ArrayList<>();
    private final List<ProcessHandle> seen = new ArrayList<>();

    private SparkCluster(Path dir, int masterPort) {
        this.dir = dir;
        this.masterPort = masterPort;
    }

    /** The master URL, {@code spark://127.0.0.1:PORT}. */
    String master() {
        return "spark://127.0.0.1:" + masterPort;
    }

    static SparkCluster start(Path dir, int workers) throws Exception {
        Files.createDirectories(dir);
        SparkCluster c = new SparkCluster(dir, freePort());
        try {
            int masterUi = freePort();
            c.ports.add(c.masterPort);
            c.ports.add(masterUi);
            Process master = c.daemon("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                    "--port", String.valueOf(c.masterPort), "--webui-port", String.valueOf(masterUi));
            waitFor(master, c.dir.resolve("master.err"), "I have been elected leader", 90);
            List<Process> started = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                int ui = freePort();
                c.ports.add(ui);
                Path work = c.dir.resolve("worker-" + i);
                Files.createDirectories(work);
                c.workerDirs.add(work);
                started.add(c.daemon("worker-" + i, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                        "--webui-port", String.valueOf(ui), "--cores", "1", "--memory", "1g",
                        "--work-dir", work.toString(), c.master()));
            }
            for (int i = 0; i < workers; i++) {
                waitFor(started.get(i), c.dir.resolve("worker-" + i + ".err"), "Successfully registered with master", 90);
            }
            return c;
        } catch (Throwable t) {
            c.close();
            throw t;
        }
    }

    /** Spark's own JDK 17 options (its launcher's JavaModuleOptions), read from the spark-launcher jar. */
    static List<String> moduleOptions() throws Exception {
        Path launcher;
        try (Stream<Path> jars = Files.list(SPARK_HOME.resolve("jars"))) {
            launcher = jars.filter(p -> p.getFileName().toString().startsWith("spark-launcher_")).findFirst()
                    .orElseThrow(() -> new AssertionError("no spark-launcher jar in " + SPARK_HOME.resolve("jars")));
        }
        try (URLClassLoader l = new URLClassLoader(new URL[]{launcher.toUri().toURL()}, null)) {
            String opts = (String) l.loadClass("org.apache.spark.launcher.JavaModuleOptions")
                    .getMethod("defaultModuleOptions").invoke(null);
            return Arrays.asList(opts.trim().split("\\s+"));
        }
    }

    static String sparkClassPath() {
        return SPARK_HOME.resolve("jars") + File.separator + "*";
    }

    /** The environment of every cluster JVM: SPARK_HOME, 127.0.0.1, local dirs under the cluster's directory. */
    Map<String, String> env(ProcessBuilder pb) throws IOException {
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("MEMGOV_") || k.startsWith("SPARK_"));
        env.put("SPARK_HOME", SPARK_HOME.toString());
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("SPARK_LOCAL_HOSTNAME", "127.0.0.1");
        Path local = dir.resolve("local");
        Files.createDirectories(local);
        env.put("SPARK_LOCAL_DIRS", local.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("JAVA_HOME", System.getProperty("java.home"));
        return env;
    }

    private Process daemon(String name, String mainClass, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Forked.java());
        cmd.addAll(moduleOptions());
        cmd.add("-Xmx256m");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Djava.io.tmpdir=" + tmp());
        cmd.add("-cp");
        cmd.add(sparkClassPath());
        cmd.add(mainClass);
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(dir.resolve(name + ".out").toFile()).redirectError(dir.resolve(name + ".err").toFile());
        env(pb);
        Process p = pb.start();
        daemons.add(p);
        seen.add(p.toHandle());
        return p;
    }

    Path tmp() throws IOException {
        Path t = dir.resolve("tmp");
        Files.createDirectories(t);
        return t;
    }

    /**
     * Runs spark-submit (its main class, in a JVM of its own: the driver, client mode) with the example
     * jar; {@code conf} are {@code --conf} pairs. Waits at most {@code seconds}.
     */
    Forked submit(String name, List<String> conf, String mainClass, String appJar, int seconds, String... args)
            throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Forked.java());
        cmd.addAll(moduleOptions());
        cmd.add("-Xmx512m");
        cmd.add("-Djava.io.tmpdir=" + tmp());
        cmd.add("-cp");
        cmd.add(sparkClassPath());
        cmd.add("org.apache.spark.deploy.SparkSubmit");
        cmd.add("--master");
        cmd.add(master());
        cmd.add("--deploy-mode");
        cmd.add("client");
        cmd.add("--class");
        cmd.add(mainClass);
        for (String c : conf) {
            cmd.add("--conf");
            cmd.add(c);
        }
        cmd.add(appJar);
        cmd.addAll(Arrays.asList(args));
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        env(pb);
        Process p = pb.start();
        seen.add(p.toHandle());
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("spark-submit " + name + " timed out after " + seconds + " s; stderr:\n"
                    + tail(err, 60));
        }
        return Forked.of(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    /** The directories the Workers gave the executors of {@code appId} (work/APP/EXEC), one per executor. */
    List<Path> executorDirs(String appId) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path w : workerDirs) {
            Path app = w.resolve(appId);
            if (Files.isDirectory(app)) {
                try (Stream<Path> s = Files.list(app)) {
                    out.addAll(s.filter(Files::isDirectory).sorted().collect(Collectors.toList()));
                }
            }
        }
        return out;
    }

    /** Every executor JVM the Workers run now (their child processes). */
    List<ProcessHandle> executors() {
        List<ProcessHandle> out = new ArrayList<>();
        for (Process d : daemons) {
            d.toHandle().descendants().forEach(out::add);
        }
        return out;
    }

    static String tail(Path f, int lines) {
        try {
            List<String> all = Files.readAllLines(f, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(" + f + ": " + e + ")";
        }
    }

    private static void waitFor(Process p, Path log, String line, int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            if (Files.exists(log) && Files.readString(log, StandardCharsets.ISO_8859_1).contains(line)) {
                return;
            }
            if (!p.isAlive()) {
                throw new AssertionError(log.getFileName() + ": the JVM exited (" + p.exitValue() + ") before '" + line
                        + "':\n" + tail(log, 40));
            }
            Thread.sleep(200);
        }
        throw new AssertionError(log.getFileName() + ": no '" + line + "' after " + seconds + " s:\n" + tail(log, 40));
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Keeps a copy of the memgov logs and the JVMs' stderr of a failed run, for reading after the directory is gone. */
    void keepLogs(Path target) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).collect(Collectors.toList())) {
                String n = p.getFileName().toString();
                if (n.endsWith(".log") || n.endsWith(".err") || n.endsWith(".out") || n.equals("stderr") || n.equals("stdout")) {
                    Path to = target.resolve(dir.relativize(p));
                    Files.createDirectories(to.getParent());
                    Files.copy(p, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            System.err.println("SparkCluster: could not keep the logs: " + e);
        }
    }

    /** Stops executors, Workers, the Master and any driver still running; checks the ports; removes the directory. */
    @Override
    public void close() throws Exception {
        List<ProcessHandle> all = new ArrayList<>();
        for (ProcessHandle h : seen) {
            h.descendants().forEach(all::add); // executors first
        }
        for (int i = daemons.size() - 1; i >= 0; i--) {
            all.add(daemons.get(i).toHandle());
        }
        for (ProcessHandle h : seen) {
            if (!all.contains(h)) {
                all.add(h);
            }
        }
        for (ProcessHandle h : all) {
            h.destroy();
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (ProcessHandle h : all) {
            long left = end - System.nanoTime();
            try {
                h.onExit().get(Math.max(1, left), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        }
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // reported below
            }
        }
        List<String> problems = new ArrayList<>();
        for (ProcessHandle h : all) {
            if (h.isAlive()) {
                problems.add("process " + h.pid() + " still alive");
            }
        }
        for (int port : ports) {
            if (listening(port)) {
                problems.add("port " + port + " still listening");
            }
        }
        try (Stream<Path> s = Files.exists(dir) ? Files.walk(dir) : Stream.empty()) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        if (Files.exists(dir)) {
            problems.add(dir + " could not be removed");
        }
        if (!problems.isEmpty()) {
            throw new AssertionError("the Spark cluster was not cleaned up: " + problems);
        }
    }
}
