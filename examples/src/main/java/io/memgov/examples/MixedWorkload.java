package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DJL and ND4J in one JVM. At each checkpoint prints what each framework holds by its own measure:
 * the DJL bytes this program created, and libnd4j's counter.
 */
public final class MixedWorkload {
    private MixedWorkload() {
    }

    static void mark(String label, long djl) {
        long before = Nd4jSequences.counter();
        for (int i = 0; i < 50; i++) { // as in Nd4jSequences.mark: ND4J's GC thread may free meanwhile
            Checkpoints.log(label);
            long after = Nd4jSequences.counter();
            if (after == before) {
                break;
            }
            before = after;
        }
        System.out.println("mixed label=" + label + " djl=" + djl + " nd4j=" + before);
    }

    public static void main(String[] args) throws Exception {
        INDArray warm = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 4);
        warm.add(1f).close();
        warm.close();
        Nd4jSequences.awaitStable();
        mark("start", 0);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.ones(new Shape(256, 256), DataType.FLOAT32);                 // 262144
            INDArray b = Nd4j.ones(org.nd4j.linalg.api.buffer.DataType.DOUBLE, 128, 128); // 131072
            mark("both", 262144);
            NDArray c = a.mul(a);                                                        // +262144
            INDArray d = b.mmul(b);                                                      // +131072
            mark("ops", 2 * 262144);
            a.close();
            c.close();
            b.close();
            d.close();
            mark("closed", 0);
        }
        System.out.println("done");
    }
}
