package io.memgov.agent;

import net.bytebuddy.dynamic.loading.ClassInjector;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Collections;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.function.BiConsumer;

/**
 * Defines small probe classes inside a framework's own class loader and package (so they may call
 * the framework's package-private natives). Their bytes travel in the agent jar as resources under
 * {@code memgov/probes/}, never as loadable classes.
 */
public final class ProbeInjector {
    private final Map<ClassLoader, Set<String>> injected = new WeakHashMap<>();
    private final BiConsumer<String, Throwable> onError;

    public ProbeInjector(BiConsumer<String, Throwable> onError) {
        this.onError = onError;
    }

    /** Defines {@code className} in {@code loader} once; false (logged) when that is impossible. */
    public synchronized boolean inject(ClassLoader loader, String className) {
        if (loader == null) {
            onError.accept("cannot instrument " + className.substring(0, className.lastIndexOf('.'))
                    + " on the bootstrap class path; that framework runs ungoverned", null);
            return false;
        }
        Set<String> done = injected.computeIfAbsent(loader, l -> new HashSet<>());
        if (done.contains(className)) {
            return true;
        }
        try {
            byte[] bytes = read("memgov/probes/" + className + ".bin");
            ClassInjector injector = ClassInjector.UsingReflection.isAvailable()
                    ? new ClassInjector.UsingReflection(loader)
                    : new ClassInjector.UsingUnsafe(loader);
            injector.injectRaw(Collections.singletonMap(className, bytes));
            done.add(className);
            return true;
        } catch (Throwable t) {
            onError.accept("cannot define " + className + " in class loader " + loader
                    + "; that framework runs ungoverned in this loader", t);
            return false;
        }
    }

    private static byte[] read(String resource) throws IOException {
        try (InputStream in = ProbeInjector.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("resource " + resource + " missing from the agent jar");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        }
    }
}
