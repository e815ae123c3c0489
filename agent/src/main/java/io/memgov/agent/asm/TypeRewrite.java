package io.memgov.agent.asm;

/**
 * The rewrite of one framework class, after OpenTelemetry's {@code TypeInstrumentation}: which
 * class, whether it is rewritten at all under the modes the rewrite was made for (spill, pool), and
 * how. A bridge is the list of its rewrites; the classes of those that apply are its targets.
 */
public interface TypeRewrite {
    /** The rewritten class's internal name ({@code a/b/C}). */
    String type();

    /** False when the modes this rewrite was made for leave its class alone (it is then no target). */
    boolean applies();

    /** The rewritten class file. Never loads a framework class. */
    byte[] rewrite(byte[] bytes);
}
