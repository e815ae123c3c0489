package io.memgov.examples;

/**
 * The README's demo: a multi-model inference service in one JVM ({@link MultiModelInference}: 8 DJL
 * models of four 512x512 dense layers built in code, about 32 MiB of weights, and 400 skewed
 * requests). Under the agent with {@code host.limit=8m} its parameters need four times the limit:
 * memgov spills and restores them, and every answer is the same as without the agent (the digest it
 * prints). memgov's log then holds what the governor did; {@code java -jar memgov-agent.jar report LOG}
 * prints it for people. Args: those of {@link MultiModelInference}, else {@code djl 8 4 400 built 50}.
 */
public final class Demo {
    private Demo() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("memgov demo: 8 DJL models (about 32 MiB of weights) answering 400 requests");
        System.out.println(Checkpoints.governed()
                ? "memgov agent attached: with host.limit=8m the weights need 4x the limit, so memgov spills them"
                : "no memgov agent attached: run with -javaagent:agent/target/memgov-agent.jar=host.limit=8m to govern it;"
                + " the digest below stays the same");
        MultiModelInference.main(args.length > 0 ? args : new String[]{"djl", "8", "4", "400", "built", "50"});
        System.out.println("done: the digest is that of every answer's bits (the same with and without memgov)");
    }
}
