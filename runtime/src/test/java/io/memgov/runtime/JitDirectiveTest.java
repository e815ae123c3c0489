package io.memgov.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The directive keeps matching methods out of C2 and nothing else: a hot method it matches reaches
 * C1 (level 3) but never C2 (level 4), while an identical method it does not match reaches C2. The
 * levels are read from the JVM's {@code Compiler.codelist} command.
 */
class JitDirectiveTest {
    @Test
    void theDirectiveIsHotSpotJson() {
        assertEquals("[{\"match\": \"io/memgov/shaded/net/bytebuddy/jar/asm/ClassReader.readCode\", \"c2\": {\"Exclude\": true}}]\n",
                JitDirective.json(JitDirective.ASM_READ_CODE));
    }

    @Test
    void matchedMethodsStayOutOfC2WhileOthersReachIt() throws Exception {
        assertNull(JitDirective.excludeFromC2("io/memgov/runtime/JitExcludedWork.*"),
                "the package is opened by surefire's argLine");
        DiagnosticCommands.Runner jcmd = DiagnosticCommands.runner("Compiler.codelist");
        String control = "io.memgov.runtime.JitControlWork.work(I)I";
        String excluded = "io.memgov.runtime.JitExcludedWork.work(I)I";
        long sink = 0;
        // the levels each method was seen at, over all reads of the code list (old code is flushed)
        java.util.Set<Integer> seenControl = new java.util.TreeSet<>();
        java.util.Set<Integer> seenExcluded = new java.util.TreeSet<>();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (seenExcluded.isEmpty() || !seenControl.contains(4)) {
            assertTrue(System.nanoTime() < deadline, "within 60 s, the control method reached C2 (" + seenControl
                    + ") and the matched one was compiled at all (" + seenExcluded + ")");
            for (int i = 0; i < 200_000; i++) {
                sink += JitExcludedWork.work(i) + JitControlWork.work(i);
            }
            Thread.sleep(20);
            String list = jcmd.run("Compiler.codelist");
            seenControl.addAll(levels(list, control));
            seenExcluded.addAll(levels(list, excluded));
        }
        assertTrue(!seenExcluded.contains(4), "the matched method was compiled by C2: " + seenExcluded + " (" + sink + ")");
        assertTrue(seenExcluded.stream().allMatch(l -> l >= 1 && l <= 3), "C1 compiled it: " + seenExcluded);
    }

    /** The compile levels the code list holds for {@code method} (lines "id level state name [...]"). */
    private static java.util.Set<Integer> levels(String codelist, String method) {
        java.util.Set<Integer> out = new java.util.TreeSet<>();
        for (String line : codelist.split("\n")) {
            String[] f = line.trim().split(" ");
            if (f.length >= 4 && f[3].equals(method)) {
                out.add(Integer.parseInt(f[1]));
            }
        }
        return out;
    }
}

/** Hot work the test's directive matches. */
final class JitExcludedWork {
    private JitExcludedWork() {
    }

    static int work(int x) {
        return x * 31 + (x >>> 3);
    }
}

/** The same work, not matched. */
final class JitControlWork {
    private JitControlWork() {
    }

    static int work(int x) {
        return x * 31 + (x >>> 3);
    }
}
