package io.memgov.agent;

import java.io.IOException;
import java.io.InputStream;
import java.security.ProtectionDomain;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * A bridge whose logic lives in one helper class defined inside the framework's class loader. Per
 * class loader, once: the framework's classes are checked against the shape the rewrites rely on
 * and the helper is defined; if either fails, no class of that loader is rewritten, so rewritten
 * code never calls a helper that is not there.
 */
public abstract class HelperBridge implements Bridge {
    private final Map<ClassLoader, Boolean> ready = new WeakHashMap<>();

    /**
     * The helper classes' binary names, nested classes included (their bytes are the resources
     * {@code memgov/helpers/NAME.bin}). All are defined before any framework class is rewritten.
     */
    protected abstract List<String> helpers();

    /**
     * Null when the framework classes visible to {@code loader} have the members the rewrites rely
     * on; else what is missing. {@code bytes} are those of {@code internalName}, being defined now.
     */
    protected abstract String shapeProblem(ClassLoader loader, String internalName, byte[] bytes) throws IOException;

    /** The rewritten bytes of a target class. */
    protected abstract byte[] rewrite(String internalName, byte[] bytes);

    @Override
    public final byte[] transform(ClassLoader loader, String className, byte[] bytes, ProtectionDomain pd,
                                  Context ctx) {
        String internal = className.replace('.', '/');
        if (!readyIn(loader, internal, bytes, pd, ctx)) {
            return null;
        }
        byte[] out = rewrite(internal, bytes);
        ctx.instrumented(framework(), className);
        return out;
    }

    private synchronized boolean readyIn(ClassLoader loader, String internal, byte[] bytes, ProtectionDomain pd,
                                         Context ctx) {
        Boolean known = ready.get(loader);
        if (known != null) {
            return known;
        }
        boolean ok = false;
        try {
            String problem = shapeProblem(loader, internal, bytes);
            if (problem != null) {
                ctx.unknownShape(framework(), internal.replace('/', '.'), problem);
            } else {
                for (String helper : helpers()) {
                    ctx.helpers().inject(loader, helper, pd);
                }
                ok = true;
            }
        } catch (Throwable t) {
            ctx.error("cannot define memgov's " + framework() + " helper in class loader " + loader + "; "
                    + framework() + " runs ungoverned in this loader", t);
        }
        ready.put(loader, ok);
        return ok;
    }

    /** The class file of {@code wanted} as {@code loader} sees it (without loading it), or null. */
    protected static byte[] classBytes(ClassLoader loader, String wanted, String current, byte[] currentBytes)
            throws IOException {
        if (wanted.equals(current)) {
            return currentBytes;
        }
        try (InputStream in = loader == null ? ClassLoader.getSystemResourceAsStream(wanted + ".class")
                : loader.getResourceAsStream(wanted + ".class")) {
            return in == null ? null : in.readAllBytes();
        }
    }
}
