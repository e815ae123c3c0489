package io.memgov.agent;

import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;

/** One framework's instrumentation: a few exact-name type matchers with named advice. */
public interface Bridge {
    /** The framework's name in the config ({@code memgov.frameworks}) and the log. */
    String framework();

    /** A class of the framework that tells, by its presence as a resource, whether it is on a class path. */
    String probeClass();

    AgentBuilder extend(AgentBuilder builder, Context context);

    /** What the installer gives a bridge. */
    interface Context {
        ProbeInjector probes();

        /** The advice class of this name, read through a TypePool (never loaded). */
        Advice advice(String adviceClassName);

        /** The framework class does not look like the version this bridge knows: it is left alone. */
        void unknownShape(String framework, String className, String problem);
    }
}
