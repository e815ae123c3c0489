package io.memgov.runtime;

/**
 * Keeps one method of the agent's class-rewriting code out of the C2 compiler, through the JVM's
 * {@code Compiler.directives_add} command ({@link DiagnosticCommands}): ASM's
 * {@code ClassReader.readCode} (5,117 bytes of bytecode, in memgov's shaded ByteBuddy). It runs only
 * while classes load and are rewritten, yet C2 compiled it with a 31 MiB compiler arena (JDK 25's
 * {@code -XX:CompileCommand=MemStat}; every other ByteBuddy or ASM compile took 2 MiB or less):
 * resident memory that the process holds during the compile and keeps afterwards in HotSpot's chunk
 * pool and glibc's heap, not tensor memory, and no trim returns it while the compile runs. On a
 * loaded machine that compile came after the engine loaded and added 20-25 MiB to an ND4J process's
 * peak RSS under {@code host.limit=16m} in 3 of 25 runs; with the directive, in none of 30. C1 still
 * compiles the method (its arena: 7 MiB). The directive matches that method alone: the application's
 * code, the frameworks' and the rest of memgov's are compiled as before.
 */
public final class JitDirective {
    /** ASM's {@code ClassReader.readCode} in memgov's shaded ByteBuddy, as a compiler directive's method pattern. */
    public static final String ASM_READ_CODE = "io/memgov/shaded/net/bytebuddy/jar/asm/ClassReader.readCode";
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
        java.io.File file = null;
        try {
            // java.io, not java.nio.file: the agent has loaded the former already (its bootstrap jar)
            file = java.io.File.createTempFile("memgov-jit-", ".json");
            try (java.io.FileOutputStream out = new java.io.FileOutputStream(file)) {
                out.write(json(pattern).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            String out = commands.run(COMMAND + " " + file.getPath());
            // HotSpot answers "1 compiler directives added"; a parse error says so and adds none
            return out.contains("1 compiler directives added") ? null : "the JVM did not add it: " + out.trim();
        } catch (Throwable t) {
            return "the directive could not be added (" + t + ")";
        } finally {
            if (file != null && !file.delete()) {
                file.deleteOnExit();
            }
        }
    }
}
