package io.memgov.examples;

import java.lang.reflect.Method;

/**
 * A benchmark's switch for the agent's C heap trimming ({@code memgov.native.trim}) inside one JVM,
 * reached by reflection (these programs do not depend on memgov): each {@link #set} is a live change
 * of the key, as a config file edit makes it (one {@code config-change} line in the log), applied at
 * once instead of a second later. Off, the governor neither reads RSS nor trims, as a build without
 * trimming; on again, growth while it was off counts toward the next trim. With
 * {@code -Dtrim.toggle.control=true} each switch keeps trimming off (the same live changes, nothing
 * trims in either half): the comparison's control, what its spread and bias are without a difference.
 */
final class TrimSwitch {
    private static final String KEY = "memgov.native.trim";
    private static final boolean CONTROL = Boolean.getBoolean("trim.toggle.control");
    private final Object governor;
    private final Method config;
    private final Method with;
    private final Method change;
    private final Object source;

    private TrimSwitch(Object governor, Method config, Method with, Method change, Object source) {
        this.governor = governor;
        this.config = config;
        this.with = with;
        this.change = change;
        this.source = source;
    }

    static TrimSwitch find() {
        try {
            Class<?> facade = Class.forName("io.memgov.runtime.Governor");
            Object g = facade.getMethod("current").invoke(null);
            if (g == null) {
                throw new IllegalStateException("trim-toggle: no memgov governor is installed (run with -javaagent)");
            }
            Method config = g.getClass().getMethod("config");
            Class<?> configType = config.getReturnType();
            Class<?> sourceType = Class.forName("io.memgov.runtime.config.Source", false, facade.getClassLoader());
            Method with = configType.getMethod("with", String.class, String.class, sourceType, String.class);
            Method change = g.getClass().getMethod("change", String.class, configType, String.class);
            Object jmx = sourceType.getMethod("valueOf", String.class).invoke(null, "JMX");
            return new TrimSwitch(g, config, with, change, jmx);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("trim-toggle: run with -javaagent:memgov-agent.jar (" + e + ")", e);
        }
    }

    void set(boolean on) {
        try {
            Object next = with.invoke(config.invoke(governor), KEY, Boolean.toString(on && !CONTROL), source, "trim-toggle");
            change.invoke(governor, KEY, next, "trim-toggle");
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
