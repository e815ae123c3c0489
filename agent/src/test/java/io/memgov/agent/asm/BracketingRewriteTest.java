package io.memgov.agent.asm;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Modifier;
import java.util.List;
import java.util.Map;

import static io.memgov.agent.asm.Stubs.call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Spill mode's bracketing of a native-calling class, on a stub class and a stub hook class. */
class BracketingRewriteTest {
    private static final Map<String, String> SOURCES = Map.of(
            "demo.Hooks", "package demo;\n"
                    + "public final class Hooks {\n"
                    + "    public static void enter() { stub.Trace.add(\"enter\"); }\n"
                    + "    public static void exit() { stub.Trace.add(\"exit\"); }\n"
                    + "}\n",
            "demo.Native", "package demo;\n"
                    + "public abstract class Native {\n"
                    + "    public Native() { stub.Trace.add(\"ctor\"); }\n"
                    + "    static { stub.Trace.add(\"clinit\"); }\n"
                    + "    public static int twice(int x) { stub.Trace.add(\"twice\", x); return 2 * x; }\n"
                    + "    public long mix(long a, double b, boolean c, String[] d, Object e) {\n"
                    + "        stub.Trace.add(\"mix\");\n"
                    + "        if (c) { return a; }\n"
                    + "        return (long) b + d.length;\n"
                    + "    }\n"
                    + "    public void fail(String why) { stub.Trace.add(\"fail\"); throw new IllegalStateException(why); }\n"
                    + "    public int caught() {\n"
                    + "        try { throw new RuntimeException(); } catch (RuntimeException e) { stub.Trace.add(\"caught\"); return 1; }\n"
                    + "    }\n"
                    + "    public void cleanup() {\n"
                    + "        try { throw new IllegalArgumentException(\"cleaned\"); } finally { stub.Trace.add(\"finally\"); }\n"
                    + "    }\n"
                    + "    public abstract void todo();\n"
                    + "    public static native void nothing();\n"
                    + "}\n",
            "demo.Impl", "package demo;\n"
                    + "public final class Impl extends Native { public void todo() { stub.Trace.add(\"todo\"); } }\n");

    private final BracketingRewrite rewrite = new BracketingRewrite("demo/Native", "demo/Hooks", true);

    private Stubs.Loader loader() {
        Stubs.Loader loader = Stubs.load(Stubs.rewritten(Stubs.compile(SOURCES), "demo.Native", rewrite::rewrite));
        loader.type("demo.Native");
        assertEquals(List.of(call("clinit")), loader.calls(), "the static initializer is not bracketed");
        return loader;
    }

    @Test
    void appliesInSpillModeOnly() {
        assertEquals("demo/Native", rewrite.type());
        assertTrue(rewrite.applies());
        assertFalse(new BracketingRewrite("demo/Native", "demo/Hooks", false).applies());
    }

    @Test
    void everyReturnOfAMethodExitsAfterEntering() throws Throwable {
        Stubs.Loader loader = loader();
        assertEquals(6, loader.call("demo.Native", null, "twice", new Class<?>[]{int.class}, 3));
        assertEquals(List.of(call("enter"), call("twice", 3), call("exit")), loader.calls());

        Object impl = loader.create("demo.Impl", new Class<?>[0]);
        assertEquals(List.of(call("ctor")), loader.calls(), "constructors are not bracketed");
        Class<?>[] mix = {long.class, double.class, boolean.class, String[].class, Object.class};
        assertEquals(5L, loader.call("demo.Native", impl, "mix", mix, 5L, 2.5, true, new String[1], null));
        assertEquals(List.of(call("enter"), call("mix"), call("exit")), loader.calls());
        assertEquals(4L, loader.call("demo.Native", impl, "mix", mix, 5L, 2.5, false, new String[2], "x"));
        assertEquals(List.of(call("enter"), call("mix"), call("exit")), loader.calls());
    }

    @Test
    void aThrowingMethodExitsAndRethrows() throws Throwable {
        Stubs.Loader loader = loader();
        Object impl = loader.create("demo.Impl", new Class<?>[0]);
        loader.calls();
        RuntimeException e = assertThrows(IllegalStateException.class,
                () -> loader.call("demo.Native", impl, "fail", new Class<?>[]{String.class}, "native failure"));
        assertEquals("native failure", e.getMessage());
        assertEquals(List.of(call("enter"), call("fail"), call("exit")), loader.calls());

        assertEquals(1, loader.call("demo.Native", impl, "caught", new Class<?>[0]));
        assertEquals(List.of(call("enter"), call("caught"), call("exit")), loader.calls(),
                "an exception the method catches itself does not exit early");

        e = assertThrows(IllegalArgumentException.class,
                () -> loader.call("demo.Native", impl, "cleanup", new Class<?>[0]));
        assertEquals("cleaned", e.getMessage());
        assertEquals(List.of(call("enter"), call("finally"), call("exit")), loader.calls(),
                "the method's finally block runs before the bracket exits");
    }

    @Test
    void abstractAndNativeMethodsStayAsTheyWere() throws NoSuchMethodException {
        Class<?> c = loader().type("demo.Native");
        assertTrue(Modifier.isAbstract(c.getDeclaredMethod("todo").getModifiers()));
        assertTrue(Modifier.isNative(c.getDeclaredMethod("nothing").getModifiers()));
    }
}
