package io.memgov.examples;

/**
 * The README's demo: a real DJL workload (an MLP trained in code on synthetic data). Run it under
 * the agent and memgov's log (here stdout) ends with the governor's summary of the tensor memory
 * the program held.
 */
public final class Demo {
    private Demo() {
    }

    public static void main(String[] args) {
        System.out.println("memgov demo: training a 3-layer MLP with DJL (PyTorch CPU) on synthetic data");
        System.out.println(Checkpoints.governed()
                ? "memgov agent attached: its events follow on the log it was given"
                : "no memgov agent attached: run with -javaagent:agent/target/memgov-agent.jar to see the governor's summary");
        float[] losses = MlpTraining.train(5, 40, 256, 64, 128);
        for (int e = 0; e < losses.length; e++) {
            System.out.printf("epoch %d  loss %.6f%n", e, losses[e]);
        }
        System.out.println("training done; memgov writes its summary at exit");
    }
}
