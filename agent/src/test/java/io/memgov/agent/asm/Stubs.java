package io.memgov.agent.asm;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.FileObject;
import javax.tools.ForwardingJavaFileManager;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileManager;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.StandardLocation;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Stub framework classes for the rewrite tests: Java source compiled in memory, rewritten, and loaded
 * in an isolated class loader. The agent's test class path holds the real DJL and ND4J classes under
 * the same names, so the stubs are never on it: the loader sees the stubs, the JDK (platform loader)
 * and the runtime's {@code io.memgov.runtime} interfaces a rewrite makes a class implement (from the
 * test's own loader, so a test can cast to them), unless a stub of the same name is given.
 */
public final class Stubs {
    /**
     * {@code stub.Trace}: what the stub helpers and stub framework classes record, each call a list
     * (its name, then its arguments), read back by {@link #calls}.
     */
    public static final String TRACE = "package stub;\n"
            + "public final class Trace {\n"
            + "    public static final java.util.List<java.util.List<Object>> CALLS = new java.util.ArrayList<>();\n"
            + "    public static void add(Object... call) { CALLS.add(java.util.Arrays.asList(call)); }\n"
            + "}\n";

    private Stubs() {
    }

    /** Compiles {@code sources} (binary name to source, {@link #TRACE} added) for Java 11; binary name to class file. */
    public static Map<String, byte[]> compile(Map<String, String> sources) {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<JavaFileObject> units = new ArrayList<>();
        Map<String, String> all = new HashMap<>(sources);
        all.put("stub.Trace", TRACE);
        for (Map.Entry<String, String> e : all.entrySet()) {
            units.add(new SimpleJavaFileObject(URI.create("string:///" + e.getKey().replace('.', '/') + ".java"),
                    JavaFileObject.Kind.SOURCE) {
                @Override
                public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                    return e.getValue();
                }
            });
        }
        Map<String, ByteArrayOutputStream> out = new HashMap<>();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        StandardJavaFileManager std = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8);
        try {
            std.setLocation(StandardLocation.CLASS_PATH, List.of()); // the stubs see each other and the JDK only
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        JavaFileManager files = new ForwardingJavaFileManager<>(std) {
            @Override
            public JavaFileObject getJavaFileForOutput(Location location, String className, JavaFileObject.Kind kind,
                                                       FileObject sibling) {
                return new SimpleJavaFileObject(URI.create("mem:///" + className.replace('.', '/') + ".class"), kind) {
                    @Override
                    public OutputStream openOutputStream() {
                        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                        out.put(className, bytes);
                        return bytes;
                    }
                };
            }
        };
        boolean ok = javac.getTask(null, files, diagnostics, List.of("--release", "11", "-proc:none", "-g"), null, units)
                .call();
        if (!ok) {
            StringBuilder sb = new StringBuilder("stubs do not compile:");
            for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
                sb.append('\n').append(d);
            }
            throw new IllegalStateException(sb.toString());
        }
        Map<String, byte[]> classes = new HashMap<>();
        out.forEach((name, bytes) -> classes.put(name, bytes.toByteArray()));
        return classes;
    }

    /** {@code classes} with the class file of {@code binaryName} passed through {@code rewrite}. */
    public static Map<String, byte[]> rewritten(Map<String, byte[]> classes, String binaryName,
                                                UnaryOperator<byte[]> rewrite) {
        Map<String, byte[]> copy = new HashMap<>(classes);
        byte[] bytes = copy.get(binaryName);
        if (bytes == null) {
            throw new IllegalArgumentException("no stub " + binaryName);
        }
        copy.put(binaryName, rewrite.apply(bytes));
        return copy;
    }

    /** The class file without its methods and fields called {@code name} (a framework class that lacks them). */
    public static byte[] without(byte[] bytes, String name) {
        net.bytebuddy.jar.asm.ClassReader reader = new net.bytebuddy.jar.asm.ClassReader(bytes);
        net.bytebuddy.jar.asm.ClassWriter writer = new net.bytebuddy.jar.asm.ClassWriter(reader, 0);
        reader.accept(new net.bytebuddy.jar.asm.ClassVisitor(Rewrites.ASM, writer) {
            @Override
            public net.bytebuddy.jar.asm.MethodVisitor visitMethod(int access, String n, String desc, String sig,
                                                                   String[] exceptions) {
                return n.equals(name) ? null : super.visitMethod(access, n, desc, sig, exceptions);
            }

            @Override
            public net.bytebuddy.jar.asm.FieldVisitor visitField(int access, String n, String desc, String sig,
                                                                 Object value) {
                return n.equals(name) ? null : super.visitField(access, n, desc, sig, value);
            }
        }, 0);
        return writer.toByteArray();
    }

    /** A loader over {@code classes} (which win over the test class path's classes of the same names). */
    public static Loader load(Map<String, byte[]> classes) {
        return new Loader(classes);
    }

    /** The isolated class loader: child-first for the stubs, runtime interfaces from the test's loader. */
    public static final class Loader extends ClassLoader {
        private final Map<String, byte[]> classes;

        Loader(Map<String, byte[]> classes) {
            super("stubs", ClassLoader.getPlatformClassLoader());
            this.classes = classes;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    byte[] bytes = classes.get(name);
                    if (bytes != null) {
                        c = defineClass(name, bytes, 0, bytes.length);
                    } else if (name.startsWith("io.memgov.runtime.")) {
                        c = Stubs.class.getClassLoader().loadClass(name);
                    } else {
                        return super.loadClass(name, resolve);
                    }
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }

        /** The stubs' class files as resources, as a framework's loader serves its classes' files. */
        @Override
        public java.io.InputStream getResourceAsStream(String name) {
            byte[] bytes = name.endsWith(".class")
                    ? classes.get(name.substring(0, name.length() - ".class".length()).replace('/', '.')) : null;
            return bytes != null ? new java.io.ByteArrayInputStream(bytes) : super.getResourceAsStream(name);
        }

        /** The class, linked and initialized: the JVM verifies a rewritten class's bytecode here. */
        public Class<?> type(String name) {
            try {
                return Class.forName(name, true, this);
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }

        /** A new instance of stub {@code name} through its constructor of {@code types}. */
        public Object create(String name, Class<?>[] types, Object... args) throws Throwable {
            try {
                java.lang.reflect.Constructor<?> c = type(name).getDeclaredConstructor(types);
                c.setAccessible(true);
                return c.newInstance(args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }

        /** Calls {@code name}'s method (static when {@code target} is null), rethrowing what it throws. */
        public Object call(String name, Object target, String method, Class<?>[] types, Object... args) throws Throwable {
            try {
                java.lang.reflect.Method m = type(name).getDeclaredMethod(method, types);
                m.setAccessible(true);
                return m.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }

        /** The calls recorded in {@code stub.Trace} so far, which it then forgets. */
        @SuppressWarnings("unchecked")
        public List<List<Object>> calls() {
            try {
                List<List<Object>> calls = (List<List<Object>>) type("stub.Trace").getField("CALLS").get(null);
                List<List<Object>> copy = new ArrayList<>(calls);
                calls.clear();
                return copy;
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** One expected call: its name and arguments. */
    public static List<Object> call(Object... nameAndArgs) {
        return java.util.Arrays.asList(nameAndArgs);
    }

    /**
     * Asserts the calls, comparing strings, numbers, booleans and nulls by value and any other
     * argument by identity (a ByteBuffer equals any other with the same remaining bytes).
     */
    public static void assertCalls(List<List<Object>> expected, List<List<Object>> actual) {
        assertCalls(expected, actual, "calls");
    }

    /** {@link #assertCalls(List, List)} with a message. */
    public static void assertCalls(List<List<Object>> expected, List<List<Object>> actual, String message) {
        String both = message + ": expected " + expected + " but was " + actual;
        if (expected.size() != actual.size()) {
            throw new AssertionError(both);
        }
        for (int i = 0; i < expected.size(); i++) {
            List<Object> e = expected.get(i);
            List<Object> a = actual.get(i);
            if (e.size() != a.size()) {
                throw new AssertionError("call " + i + ": " + both);
            }
            for (int j = 0; j < e.size(); j++) {
                Object x = e.get(j);
                Object y = a.get(j);
                boolean byValue = x == null || x instanceof String || x instanceof Number || x instanceof Boolean;
                if (byValue ? !java.util.Objects.equals(x, y) : x != y) {
                    throw new AssertionError("call " + i + ", item " + j + ": " + both);
                }
            }
        }
    }

    /** The names of the calls (their first items). */
    public static List<Object> names(List<List<Object>> calls) {
        List<Object> names = new ArrayList<>();
        calls.forEach(c -> names.add(c.get(0)));
        return names;
    }
}
