package io.memgov.runtime;

/**
 * Keeps the agent's class-rewriting code (its shaded ByteBuddy and ASM) out of the C2 compiler, through
 * the JVM's {@code Compiler.directives_add} command ({@link DiagnosticCommands}). That code runs only
 * while framework classes load and are rewritten, yet HotSpot's C2 compiled ASM's
 * {@code ClassReader.readCode} (one method of some 2,000 bytecodes) with a 31 MiB compiler arena
 * (measured with JDK 25's {@code -XX:CompileCommand=MemStat}): resident memory the process keeps in
 * glibc's heap and HotSpot's chunk pool after the compile, not tensor memory, and no trim can return
 * it while the compile runs. On a loaded machine that compile lands after the engine loaded and added
 * 20-25 MiB to an ND4J process's peak RSS under {@code host.limit=16m} in 3 of 25 runs; with the
 * directive, in none of 25. C1 still compiles that code, so rewriting a class is not interpreted.
 * The directive matches only memgov's shaded packages: the application's code and the frameworks'
 * are compiled as before.
 */
public final class JitDirective {
    /** Memgov's shaded ByteBuddy (ASM included), as a compiler directive's class pattern. */
    public static final String AGENT_CODE = "io/memgov/shaded/net/bytebuddy/*.*";
    private static final String COMMAND = "Compiler.directives_add";

    private JitDirective() {
    }

    /** The directive file's text: methods matching {@code pattern} are not compiled by C2. */
    static String json(String pattern) {
        return "[{\"match\": \"" + pattern + "\", \"c2\": {\"Exclude\": true}}]\n";
    }

    /**
     * Adds the directive for {@code pattern}; returns null when the JVM took it, else why not (the JVM
     * then compiles that code as it would without memgov).
     */
    public static String excludeFromC2(String pattern) {
        DiagnosticCommands.Runner commands = DiagnosticCommands.runner(COMMAND);
        if (commands == null) {
            return DiagnosticCommands.unavailable(COMMAND);
        }
        java.nio.file.Path file = null;
        try {
            file = java.nio.file.Files.createTempFile("memgov-jit-", ".json");
            java.nio.file.Files.write(file, json(pattern).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String out = commands.run(COMMAND + " " + file);
            // HotSpot answers "1 compiler directives added"; a parse error says so and adds none
            return out.contains("1 compiler directives added") ? null : "the JVM did not add it: " + out.trim();
        } catch (Throwable t) {
            return "the directive could not be added (" + t + ")";
        } finally {
            if (file != null) {
                try {
                    java.nio.file.Files.deleteIfExists(file);
                } catch (java.io.IOException ignored) {
                    // a temp file of 80 bytes left behind
                }
            }
        }
    }
}
