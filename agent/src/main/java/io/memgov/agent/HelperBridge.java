package io.memgov.agent;

import io.memgov.agent.asm.TypeRewrite;

import java.io.IOException;
import java.io.InputStream;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * A bridge whose logic lives in one helper class defined inside the framework's class loader. Per
 * class loader, once: the framework's classes are checked against the shape the rewrites rely on
 * and the helper is defined; if either fails, no class of that loader is rewritten, so rewritten
 * code never calls a helper that is not there. Its targets are the classes of those of its
 * {@link TypeRewrite}s that apply, each rewritten by its own.
 */
public abstract class HelperBridge implements Bridge {
    private final Map<ClassLoader, Boolean> ready = new WeakHashMap<>();
    /** The rewrites that apply, by internal name, in the order given. */
    private final Map<String, TypeRewrite> rewrites = new LinkedHashMap<>();

    /** {@code all}: every rewrite of the bridge; those that do not apply are dropped. */
    protected HelperBridge(List<TypeRewrite> all) {
        for (TypeRewrite r : all) {
            if (r.applies() && rewrites.put(r.type(), r) != null) {
                throw new IllegalArgumentException("two rewrites of " + r.type());
            }
        }
    }

    /** The rewrites this bridge applies, one per target class, in {@link #targets()}' order. */
    public final List<TypeRewrite> rewrites() {
        return Collections.unmodifiableList(new ArrayList<>(rewrites.values()));
    }

    @Override
    public final List<String> targets() {
        List<String> t = new ArrayList<>();
        for (String internal : rewrites.keySet()) {
            t.add(internal.replace('/', '.'));
        }
        return t;
    }

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

    @Override
    public final byte[] transform(ClassLoader loader, String className, byte[] bytes, ProtectionDomain pd,
                                  Context ctx) {
        String internal = className.replace('.', '/');
        TypeRewrite rewrite = rewrites.get(internal);
        // rewrite == null: not a target (the installer hands the bridge none of those)
        if (rewrite == null || !readyIn(loader, internal, bytes, pd, ctx)) {
            return null;
        }
        byte[] out = rewrite.rewrite(bytes);
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
