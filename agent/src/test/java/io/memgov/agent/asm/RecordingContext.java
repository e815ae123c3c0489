package io.memgov.agent.asm;

import io.memgov.agent.Bridge;
import io.memgov.agent.HelperInjector;

import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/** Records what a bridge tells the installer; has no helper injector (a bridge that needs one fails). */
public final class RecordingContext implements Bridge.Context {
    public final List<String> events = new ArrayList<>();

    /** An empty class loader, a bridge's readiness being per loader. */
    public static ClassLoader freshLoader() {
        return new URLClassLoader(new URL[0], null);
    }

    @Override
    public HelperInjector helpers() {
        throw new AssertionError("no helper to inject");
    }

    @Override
    public void instrumented(String framework, String className) {
        events.add("instrumented " + framework + " " + className);
    }

    @Override
    public void unknownShape(String framework, String className, String problem) {
        events.add("unknown " + framework + " " + className + ": " + problem);
    }

    @Override
    public void error(String message, Throwable t) {
        events.add("error " + message + ": " + t.getMessage());
    }
}
