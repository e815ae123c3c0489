package io.memgov.agent;

import java.io.File;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.jar.JarFile;

/**
 * Entry point of {@code -javaagent:memgov-agent.jar[=options]}. It puts the governor's runtime on
 * the bootstrap class path (so that the helpers memgov defines in framework class loaders, whatever
 * the loader, reach one governor), then hands over to {@link Installer}. It never breaks the application: a
 * failure logs one line and leaves it running ungoverned, unless {@code memgov.strict=true}.
 *
 * <p>This class must not touch runtime classes before the bootstrap jar is appended.
 */
public final class MemgovAgent {
    static final String BOOTSTRAP_JAR = "memgov/memgov-bootstrap.jar";
    private static volatile boolean started;

    private MemgovAgent() {
    }

    public static void premain(String args, Instrumentation inst) {
        start(args, inst, true);
    }

    public static void agentmain(String args, Instrumentation inst) {
        start(args, inst, false);
    }

    private static synchronized void start(String args, Instrumentation inst, boolean atStartup) {
        long t0 = System.nanoTime();
        if (started) {
            System.err.println("memgov: the agent is already installed in this JVM; ignoring the second -javaagent/attach");
            return;
        }
        started = true;
        try {
            appendBootstrapJar(inst);
            Class<?> installer = Class.forName("io.memgov.agent.Installer", true, MemgovAgent.class.getClassLoader());
            installer.getMethod("install", String.class, Instrumentation.class, long.class, boolean.class)
                    .invoke(null, args, inst, t0, atStartup);
        } catch (Throwable t) {
            Throwable cause = t instanceof java.lang.reflect.InvocationTargetException ? t.getCause() : t;
            if (cause instanceof StrictExit) {
                exitStrict(cause.getMessage());
                return;
            }
            System.err.println("memgov: failed to install (" + cause + "); the application runs ungoverned");
            if (strictRequested(args)) {
                exitStrict("memgov: memgov.strict=true and the agent failed to install: " + cause);
            }
        }
    }

    private static void exitStrict(String message) {
        System.err.println(message);
        System.err.flush();
        System.exit(1);
    }

    /** A best-effort look for strict mode when the config layer itself could not run. */
    private static boolean strictRequested(String args) {
        String a = args == null ? "" : args.replace(" ", "");
        return a.contains("strict=true") || "true".equalsIgnoreCase(System.getProperty("memgov.strict"))
                || "true".equalsIgnoreCase(System.getenv("MEMGOV_STRICT"));
    }

    private static void appendBootstrapJar(Instrumentation inst) throws Exception {
        // memgov-bootstrap-<pid>-<n>.jar: a later start removes it when this JVM died without its shutdown
        File jar = File.createTempFile("memgov-bootstrap-" + ProcessHandle.current().pid() + "-", ".jar");
        jar.deleteOnExit();
        try (InputStream in = MemgovAgent.class.getClassLoader().getResourceAsStream(BOOTSTRAP_JAR)) {
            if (in == null) {
                throw new IllegalStateException(BOOTSTRAP_JAR + " is missing from the agent jar (a broken build?)");
            }
            Files.copy(in, jar.toPath(), StandardCopyOption.REPLACE_EXISTING);
        }
        inst.appendToBootstrapClassLoaderSearch(new JarFile(jar));
    }

    /** Thrown by the installer when strict mode stops the JVM. */
    static final class StrictExit extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StrictExit(String message) {
            super(message, null, false, false);
        }
    }
}
