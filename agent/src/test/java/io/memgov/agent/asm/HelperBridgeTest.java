package io.memgov.agent.asm;

import io.memgov.agent.HelperBridge;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A {@link HelperBridge} applies the rewrites that apply, each to its own class, once the loader is ready. */
class HelperBridgeTest {
    /** A rewrite that appends its tag to the bytes. */
    private static TypeRewrite tagging(String type, boolean applies, byte tag) {
        return new TypeRewrite() {
            @Override
            public String type() {
                return type;
            }

            @Override
            public boolean applies() {
                return applies;
            }

            @Override
            public byte[] rewrite(byte[] bytes) {
                byte[] out = java.util.Arrays.copyOf(bytes, bytes.length + 1);
                out[bytes.length] = tag;
                return out;
            }
        };
    }

    /** A bridge without helper classes (so no injector is needed), whose shape check answers {@code problem}. */
    private static final class TestBridge extends HelperBridge {
        String problem;
        int checks;

        TestBridge(List<TypeRewrite> rewrites) {
            super(rewrites);
        }

        @Override
        public String framework() {
            return "test";
        }

        @Override
        public String probeClass() {
            return "a.A";
        }

        @Override
        protected List<String> helpers() {
            return List.of();
        }

        @Override
        protected String shapeProblem(ClassLoader loader, String internalName, byte[] bytes) {
            checks++;
            if ("throw".equals(problem)) {
                throw new IllegalStateException("unreadable");
            }
            return problem;
        }
    }

    private final TestBridge bridge = new TestBridge(List.of(
            tagging("a/A", true, (byte) 1), tagging("a/Off", false, (byte) 2), tagging("b/B", true, (byte) 3)));
    private final RecordingContext ctx = new RecordingContext();

    @Test
    void theTargetsAreTheClassesOfTheRewritesThatApply() {
        assertEquals(List.of("a.A", "b.B"), bridge.targets());
        List<String> types = new ArrayList<>();
        bridge.rewrites().forEach(r -> types.add(r.type()));
        assertEquals(List.of("a/A", "b/B"), types);
    }

    @Test
    void eachTargetGetsItsOwnRewrite() {
        ClassLoader loader = RecordingContext.freshLoader();
        assertArrayEquals(new byte[]{9, 1}, bridge.transform(loader, "a.A", new byte[]{9}, null, ctx));
        assertArrayEquals(new byte[]{9, 3}, bridge.transform(loader, "b.B", new byte[]{9}, null, ctx));
        assertEquals(List.of("instrumented test a.A", "instrumented test b.B"), ctx.events);
        assertEquals(1, bridge.checks, "the shape is checked once per class loader");
    }

    @Test
    void aClassWhoseRewriteDoesNotApplyIsLeftAlone() {
        assertNull(bridge.transform(RecordingContext.freshLoader(), "a.Off", new byte[]{9}, null, ctx));
        assertNull(bridge.transform(RecordingContext.freshLoader(), "c.Other", new byte[]{9}, null, ctx));
        assertEquals(List.of(), ctx.events);
        assertEquals(0, bridge.checks);
    }

    @Test
    void aShapeProblemLeavesEveryClassOfThatLoaderAlone() {
        ClassLoader odd = RecordingContext.freshLoader();
        bridge.problem = "missing a.A.m()V";
        assertNull(bridge.transform(odd, "a.A", new byte[]{9}, null, ctx));
        assertNull(bridge.transform(odd, "b.B", new byte[]{9}, null, ctx));
        assertEquals(List.of("unknown test a.A: missing a.A.m()V"), ctx.events);

        bridge.problem = null;
        assertArrayEquals(new byte[]{9, 3}, bridge.transform(RecordingContext.freshLoader(), "b.B", new byte[]{9}, null, ctx),
                "another loader is checked on its own");
        assertNull(bridge.transform(odd, "a.A", new byte[]{9}, null, ctx), "the first answer stands");
    }

    @Test
    void aFailingShapeCheckIsAnErrorAndLeavesTheLoaderAlone() {
        bridge.problem = "throw";
        assertNull(bridge.transform(RecordingContext.freshLoader(), "a.A", new byte[]{9}, null, ctx));
        assertEquals(1, ctx.events.size());
        assertTrue(ctx.events.get(0).startsWith("error cannot define memgov's test helper in class loader "), ctx.events.get(0));
        assertTrue(ctx.events.get(0).endsWith("; test runs ungoverned in this loader: unreadable"), ctx.events.get(0));
    }

    @Test
    void twoRewritesOfOneClassAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new TestBridge(List.of(
                tagging("a/A", true, (byte) 1), tagging("a/A", true, (byte) 2))));
    }
}
