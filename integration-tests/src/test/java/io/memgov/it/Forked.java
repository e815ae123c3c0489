package io.memgov.it;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a workload in a forked JVM, with or without the real agent jar. */
final class Forked {
    static final Path AGENT = Paths.get(System.getProperty("memgov.agent.jar", "../agent/target/memgov-agent.jar")).toAbsolutePath().normalize();
    static final Path EXAMPLES = Paths.get(System.getProperty("memgov.examples.jar", "../examples/target/memgov-examples.jar")).toAbsolutePath().normalize();
    static final Path EXAMPLES_LIB = Paths.get(System.getProperty("memgov.examples.lib", "../examples/target/lib")).toAbsolutePath().normalize();
    static final Path WORK = Paths.get(System.getProperty("memgov.it.work", "target/it-work")).toAbsolutePath().normalize();

    final int exitCode;
    final String stdout;
    final String stderr;

    private Forked(int exitCode, String stdout, String stderr) {
        this.exitCode = exitCode;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /** The result of a command run some other way (not a workload). */
    static Forked of(int exitCode, String stdout, String stderr) {
        return new Forked(exitCode, stdout, stderr);
    }

    static String java() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** {@code agentOptions} null: no agent. */
    static Forked run(String agentOptions, List<String> jvmArgs, String classPath, String mainClass, String... args)
            throws IOException, InterruptedException {
        return run(agentOptions, jvmArgs, classPath, Map.of(), mainClass, args);
    }

    static Forked run(String agentOptions, List<String> jvmArgs, String classPath, Map<String, String> env,
                      String mainClass, String... args) throws IOException, InterruptedException {
        return run(List.of(), agentOptions, jvmArgs, classPath, env, mainClass, args);
    }

    /**
     * The JVM started from inside the cgroup whose {@code cgroup.procs} is {@code procs}: a shell
     * writes its pid there and then becomes the JVM, so the JVM is in it from its first instruction.
     */
    static Forked runInCgroup(Path procs, String agentOptions, List<String> jvmArgs, String classPath, String mainClass,
                              String... args) throws IOException, InterruptedException {
        return run(List.of("sh", "-c", "echo $$ > '" + procs + "' && exec \"$0\" \"$@\""), agentOptions, jvmArgs,
                classPath, Map.of(), mainClass, args);
    }

    private static Forked run(List<String> launcher, String agentOptions, List<String> jvmArgs, String classPath,
                              Map<String, String> env, String mainClass, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(launcher);
        cmd.add(java());
        if (agentOptions != null) {
            cmd.add("-javaagent:" + AGENT + (agentOptions.isEmpty() ? "" : "=" + agentOptions));
        }
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-Xshare:auto");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(mainClass);
        cmd.addAll(Arrays.asList(args));
        Files.createDirectories(WORK);
        Path out = Files.createTempFile(WORK, "stdout-", ".txt");
        Path err = Files.createTempFile(WORK, "stderr-", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(WORK.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("MEMGOV_"));
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + String.join(" ", cmd));
        }
        return new Forked(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    /**
     * Runs a training workload without and then with the agent (logging to {@code log}) and checks
     * that both printed the same {@code epochs} "epoch ..." lines, bit for bit.
     */
    static void assertSameEpochsWithAndWithoutAgent(String mainClass, Path log, int epochs, String... args)
            throws IOException, InterruptedException {
        assertSameEpochsWithAndWithoutAgent(mainClass, log, "", epochs, args);
    }

    /** The same, with more agent options ({@code options}: "" or "key=value,..."). */
    static void assertSameEpochsWithAndWithoutAgent(String mainClass, Path log, String options, int epochs,
                                                    String... args) throws IOException, InterruptedException {
        Forked plain = run(null, List.of(), examplesClassPath(), mainClass, args);
        Forked governed = run("log.file=" + log + (options.isEmpty() ? "" : "," + options), List.of(),
                examplesClassPath(), mainClass, args);
        org.junit.jupiter.api.Assertions.assertEquals(0, plain.exitCode, plain.toString());
        org.junit.jupiter.api.Assertions.assertEquals(0, governed.exitCode, governed.toString());
        List<String> expected = epochLines(plain.stdout);
        org.junit.jupiter.api.Assertions.assertEquals(epochs, expected.size(), plain.toString());
        org.junit.jupiter.api.Assertions.assertEquals(expected, epochLines(governed.stdout),
                "every epoch's figure must be bit for bit equal with and without the agent");
    }

    static List<String> epochLines(String stdout) {
        List<String> out = new ArrayList<>();
        for (String l : stdout.split("\n")) {
            if (l.startsWith("epoch ")) {
                out.add(l.trim());
            }
        }
        return out;
    }

    /**
     * A class path holding only the examples' ChildLoaderLauncher: the frameworks and the workloads
     * are then reachable only through the child class loader the launcher makes.
     */
    static String launcherOnlyClassPath(String name) throws IOException {
        Path dir = WORK.resolve(name);
        Path cls = dir.resolve("io/memgov/examples/ChildLoaderLauncher.class");
        Files.createDirectories(cls.getParent());
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(EXAMPLES.toFile())) {
            Files.write(cls, zip.getInputStream(zip.getEntry("io/memgov/examples/ChildLoaderLauncher.class")).readAllBytes());
        }
        return dir.toString();
    }

    static String examplesClassPath() {
        return EXAMPLES.toString();
    }

    /** A fresh log file path under the work directory. */
    static Path newLog(String name) throws IOException {
        Files.createDirectories(WORK);
        Path p = Files.createTempFile(WORK, name + "-", ".log");
        Files.delete(p);
        return p;
    }

    static String cp(Path... parts) {
        StringBuilder sb = new StringBuilder();
        for (Path p : parts) {
            if (sb.length() > 0) {
                sb.append(File.pathSeparator);
            }
            sb.append(p);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "exit=" + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
    }
}
