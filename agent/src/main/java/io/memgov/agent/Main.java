package io.memgov.agent;

import java.io.PrintStream;

/** {@code java -jar memgov-agent.jar <command>}: the agent jar as a tool. */
public final class Main {
    private Main() {
    }

    static final String USAGE = String.join("\n",
            "memgov " + AgentVersion.get() + ": governs the native tensor memory of DJL and ND4J in a JVM",
            "",
            "Attach it to an application:",
            "  java -javaagent:memgov-agent.jar[=key=value,...] -jar app.jar",
            "  e.g. -javaagent:memgov-agent.jar=host.limit=2g,log.file=memgov.log",
            "",
            "Commands:",
            "  help       this text",
            "  version    print the version",
            "  report LOG [--html FILE]",
            "             summarise a memgov log (text or json): peaks, limits, spills, pool,",
            "             leaks, configuration errors; --html also draws the timeline",
            "  report DIR|LOG... [--html FILE]",
            "             one report over many JVMs' logs (a Spark application's executors):",
            "             a row per JVM, totals, sites merged; --html: each JVM's HOST timeline",
            "",
            "Configuration keys (agent options, -Dmemgov.KEY, MEMGOV_KEY, a memgov.properties file):",
            "  enabled, frameworks, host.limit, device.limit, disk.limit, disk.dir, on-limit,",
            "  spill.low-watermark, wait.timeout, pool.enabled, pool.max, log.file, log.level,",
            "  log.format, report.interval, strict   (see README.md)");

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            out.println(USAGE);
            return 0;
        }
        if (args[0].equals("version") || args[0].equals("--version")) {
            out.println("memgov " + AgentVersion.get());
            return 0;
        }
        if (args[0].equals("report")) {
            return io.memgov.agent.report.ReportCommand.run(
                    java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
        }
        err.println("memgov: unknown command '" + args[0] + "'; run java -jar memgov-agent.jar help");
        return 2;
    }
}
