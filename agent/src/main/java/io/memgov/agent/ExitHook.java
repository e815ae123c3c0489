package io.memgov.agent;

import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Set;

/**
 * Runs memgov's exit work (the summary, removing the spill files, closing the log) after the
 * application's own shutdown hooks have all finished, so that a hook of the application can still
 * read its spilled tensors.
 *
 * <p>The JDK runs its shutdown in numbered system slots, one after another on the exiting thread:
 * slot 0 the console, slot 1 {@code java.lang.ApplicationShutdownHooks} (every
 * {@code Runtime.addShutdownHook} thread, started together and joined), slot 2
 * {@code DeleteOnExitHook}; the later slots (up to 9) are free. memgov registers its work in slot 7
 * (or the next free one) through {@code JavaLangAccess.registerShutdownHook}, reached by exporting
 * {@code jdk.internal.access} (Java 12 and later; {@code jdk.internal.misc} on Java 11) from
 * {@code java.base} to the agent's module with {@link Instrumentation#redefineModule}. Where that is
 * not possible it falls back to an ordinary Runtime shutdown hook, which runs concurrently with the
 * application's hooks.
 */
final class ExitHook {
    static final int FIRST_SLOT = 7;
    static final int LAST_SLOT = 9;

    /** How the exit work was registered. */
    static final class Registration {
        /** {@code slot-N} or {@code runtime}. */
        final String mechanism;
        /** Why the system slot could not be used (null when it was). */
        final String problem;

        Registration(String mechanism, String problem) {
            this.mechanism = mechanism;
            this.problem = problem;
        }

        boolean afterApplicationHooks() {
            return problem == null;
        }
    }

    private ExitHook() {
    }

    /** Registers {@code task} to run once at exit, after the application's shutdown hooks where possible. */
    static Registration register(Instrumentation inst, Runnable task) {
        Runnable safe = () -> {
            try {
                task.run();
            } catch (Throwable t) {
                System.err.println("memgov: exit work failed: " + t);
            }
        };
        String problem;
        try {
            int slot = registerInSystemSlot(inst, safe);
            return new Registration("slot-" + slot, null);
        } catch (Throwable t) {
            Throwable cause = t instanceof InvocationTargetException && t.getCause() != null ? t.getCause() : t;
            problem = String.valueOf(cause);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(safe, "memgov-summary"));
        return new Registration("runtime", problem);
    }

    /** The system slot {@code task} went to; throws when none could be used. */
    static int registerInSystemSlot(Instrumentation inst, Runnable task) throws ReflectiveOperationException {
        if (inst == null) {
            throw new IllegalStateException("no Instrumentation");
        }
        Class<?> secrets = null;
        String pkg = null;
        for (String p : new String[] {"jdk.internal.access", "jdk.internal.misc"}) {
            try {
                secrets = Class.forName(p + ".SharedSecrets", false, null);
                pkg = p;
                break;
            } catch (ClassNotFoundException e) {
                // try the next name
            }
        }
        if (secrets == null) {
            throw new ClassNotFoundException("neither jdk.internal.access.SharedSecrets nor jdk.internal.misc.SharedSecrets");
        }
        Module base = Object.class.getModule();
        Module self = ExitHook.class.getModule();
        if (!base.isExported(pkg, self)) {
            inst.redefineModule(base, Set.of(), Map.of(pkg, Set.of(self)), Map.of(), Set.of(), Map.of());
        }
        Object access = secrets.getMethod("getJavaLangAccess").invoke(null);
        Method register = Class.forName(pkg + ".JavaLangAccess", false, null)
                .getMethod("registerShutdownHook", int.class, boolean.class, Runnable.class);
        Throwable last = null;
        for (int slot = FIRST_SLOT; slot <= LAST_SLOT; slot++) {
            try {
                register.invoke(access, slot, false, task);
                return slot;
            } catch (InvocationTargetException e) {
                Throwable c = e.getCause();
                // a taken slot: InternalError (JDK 11-25) or IllegalStateException, "... already registered"
                if (c != null && String.valueOf(c.getMessage()).contains("already registered")) {
                    last = c;
                    continue;
                }
                throw e;
            }
        }
        throw new IllegalStateException("system shutdown slots " + FIRST_SLOT + "-" + LAST_SLOT + " are all taken", last);
    }
}
