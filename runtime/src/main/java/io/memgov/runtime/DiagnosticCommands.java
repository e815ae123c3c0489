package io.memgov.runtime;

/**
 * The JVM's diagnostic commands (what {@code jcmd <pid> <command>} runs), called in-process through
 * HotSpot's {@code DiagnosticCommandImpl} directly, not through the platform MBean server: creating
 * that server costs about 100 ms of CPU and loads the JMX classes (a DL4J loop trimming under
 * {@code host.limit=400k} ran 3.5% slower for it), and memgov never creates it. The package is opened
 * to memgov by the agent ({@code Installer.openDiagnosticCommands}).
 */
public final class DiagnosticCommands {
    private static final String PKG = "com.sun.management.internal";

    /** Runs a command line; returns its output. */
    public interface Runner {
        String run(String commandLine) throws Exception;
    }

    private static volatile Object resolved;

    private DiagnosticCommands() {
    }

    /**
     * The commands, or a String that says why they cannot be called. Resolved once; {@code needed}: a
     * command that must be among them (its absence is the reason).
     */
    static Object resolve(String needed) {
        Object r = resolved;
        if (r == null) {
            r = doResolve();
            resolved = r;
        }
        if (r instanceof Resolved && !((Resolved) r).names.contains(needed)) {
            return "this JVM has no " + needed;
        }
        return r instanceof Resolved ? ((Resolved) r).runner : r;
    }

    /** A runner for commands that include {@code needed}, or null; {@link #unavailable} says why not. */
    public static Runner runner(String needed) {
        Object r = resolve(needed);
        return r instanceof Runner ? (Runner) r : null;
    }

    /** Why {@code needed} cannot be run, or null when it can. */
    public static String unavailable(String needed) {
        Object r = resolve(needed);
        return r instanceof String ? (String) r : null;
    }

    private static final class Resolved {
        final Runner runner;
        final java.util.List<String> names;

        Resolved(Runner runner, java.util.List<String> names) {
            this.runner = runner;
            this.names = names;
        }
    }

    private static Object doResolve() {
        java.util.Optional<Module> mgmt = ModuleLayer.boot().findModule("jdk.management");
        if (mgmt.isEmpty() || !mgmt.get().isOpen(PKG, DiagnosticCommands.class.getModule())) {
            return "jdk.management's " + PKG + " is not open to memgov (the agent opens it;"
                    + " or add --add-opens jdk.management/" + PKG + "=ALL-UNNAMED)";
        }
        try {
            // its static initializer loads libmanagement_ext, where the commands' native method is
            Class.forName(PKG + ".PlatformMBeanProviderImpl", true, null);
            Class<?> impl = Class.forName(PKG + ".DiagnosticCommandImpl", true, null);
            java.lang.reflect.Method get = impl.getDeclaredMethod("getDiagnosticCommandMBean");
            get.setAccessible(true);
            Object commands = get.invoke(null);
            java.lang.reflect.Method list = impl.getDeclaredMethod("getDiagnosticCommands");
            list.setAccessible(true);
            java.util.List<String> names = java.util.Arrays.asList((String[]) list.invoke(commands));
            java.lang.reflect.Method execute = impl.getDeclaredMethod("executeDiagnosticCommand", String.class);
            execute.setAccessible(true);
            return new Resolved(line -> String.valueOf(execute.invoke(commands, line)), names);
        } catch (Throwable t) {
            return "the JVM's diagnostic commands cannot be called (" + t + ")";
        }
    }
}
