package io.memgov.examples;

import java.lang.reflect.Method;

/**
 * Marks points of a workload in memgov's log when the agent is attached (a labelled {@code report}
 * event), and prints what the workload itself expects there. Without the agent it only prints.
 */
public final class Checkpoints {
    private static final Method CHECKPOINT = find();

    private Checkpoints() {
    }

    private static Method find() {
        try {
            // the governor lives on the bootstrap class path when the agent is attached
            return Class.forName("io.memgov.runtime.Governor", false, null).getMethod("checkpoint", String.class);
        } catch (Throwable notAttached) {
            return null;
        }
    }

    public static boolean governed() {
        return CHECKPOINT != null;
    }

    /**
     * Logs checkpoint {@code label}; {@code expectedHostBytes} is what the workload holds there, or
     * -1 when the workload cannot know (then nothing is printed).
     */
    public static void mark(String label, long expectedHostBytes) {
        expect(label, expectedHostBytes);
        log(label);
    }

    /** Prints what the workload holds at checkpoint {@code label} (-1: nothing printed). */
    public static void expect(String label, long expectedHostBytes) {
        if (expectedHostBytes >= 0) {
            System.out.println("checkpoint label=" + label + " expected.host.used=" + expectedHostBytes);
        }
    }

    /** Logs checkpoint {@code label} in memgov's log, when the agent is attached. */
    public static void log(String label) {
        if (CHECKPOINT != null) {
            try {
                CHECKPOINT.invoke(null, label);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
