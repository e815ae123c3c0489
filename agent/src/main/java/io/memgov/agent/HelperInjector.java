package io.memgov.agent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Method;
import java.security.ProtectionDomain;
import java.util.Map;
import java.util.Set;

/**
 * Defines memgov's helper classes inside a framework's own class loader and package, so that they
 * may use the framework's package-private members. Their bytes travel in the agent jar as resources
 * under {@code memgov/helpers/}, never as classes an application could load.
 */
public final class HelperInjector {
    private final Method defineClass;
    private final Method findLoadedClass;

    public HelperInjector(Instrumentation inst) throws ReflectiveOperationException {
        // java.lang opened to this module alone, through the instrumentation the JVM gave the agent
        inst.redefineModule(Object.class.getModule(), Set.of(), Map.of(),
                Map.of("java.lang", Set.of(HelperInjector.class.getModule())), Set.of(), Map.of());
        defineClass = ClassLoader.class.getDeclaredMethod("defineClass", String.class, byte[].class, int.class,
                int.class, ProtectionDomain.class);
        defineClass.setAccessible(true);
        findLoadedClass = ClassLoader.class.getDeclaredMethod("findLoadedClass", String.class);
        findLoadedClass.setAccessible(true);
    }

    /** Defines helper {@code className} in {@code loader} unless it is there already. */
    public void inject(ClassLoader loader, String className, ProtectionDomain pd) throws Exception {
        if (loader == null) {
            throw new IllegalStateException("the framework is on the bootstrap class path");
        }
        synchronized (this) {
            if (findLoadedClass.invoke(loader, className) != null) {
                return;
            }
            byte[] bytes = bytes(className);
            defineClass.invoke(loader, className, bytes, 0, bytes.length, pd);
        }
    }

    public static byte[] bytes(String className) throws IOException {
        String resource = "memgov/helpers/" + className + ".bin";
        try (InputStream in = HelperInjector.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("resource " + resource + " missing from the agent jar");
            }
            return readAll(in);
        }
    }

    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16384];
        for (int n; (n = in.read(buf)) > 0; ) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }
}
