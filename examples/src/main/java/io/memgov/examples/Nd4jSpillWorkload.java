package io.memgov.examples;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * An ND4J working set larger than memory would allow: N float arrays of M MiB, then, in random
 * order, many times: native ops, matrix products (BLAS), element reads and writes
 * ({@code getFloat}/{@code putScalar}), in-place ops, {@code dup}, and now and then a view of an
 * array that may be spilled. Prints a digest of every result, so a run with a HOST limit (buffers
 * spilled and restored) can be compared bit for bit with one without.
 * Args: [arrays, default 64] [MiB each, default 4] [rounds, default 400].
 */
public final class Nd4jSpillWorkload {
    private Nd4jSpillWorkload() {
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        int mib = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 400;
        int elements = mib * (1 << 20) / 4;
        int side = (int) Math.sqrt(elements);
        Nd4j.getRandom().setSeed(42);
        Random rnd = new Random(3);
        CRC32 digest = new CRC32();
        long t0 = System.nanoTime();
        List<INDArray> arrays = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            arrays.add(Nd4j.rand(DataType.FLOAT, elements));
        }
        INDArray vector = Nd4j.rand(DataType.FLOAT, side, 1);
        List<INDArray> views = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            int which = rnd.nextInt(n);
            INDArray a = arrays.get(which);
            switch (rnd.nextInt(7)) {
                case 0: // a native op over the whole array
                    update(digest, a.sumNumber().floatValue());
                    break;
                case 1: // element reads
                    update(digest, a.getFloat(rnd.nextInt(elements)));
                    update(digest, a.getFloat(elements - 1L));
                    break;
                case 2: // element writes: the spilled bytes must carry them
                    a.putScalar(rnd.nextInt(elements), r * 0.5f);
                    a.putScalar(0, r * 0.25f);
                    update(digest, a.getFloat(0L));
                    break;
                case 3: // an in-place native op
                    a.addi(1f);
                    update(digest, a.getFloat(1L));
                    break;
                case 4: { // a matrix product (BLAS) over a reshaped array
                    INDArray product = a.reshape(side, elements / side).get(NDArrayIndex.all(), NDArrayIndex.interval(0, side))
                            .mmul(vector);
                    update(digest, product.sumNumber().floatValue());
                    product.close();
                    break;
                }
                case 5: { // dup, then an op with two arrays
                    INDArray copy = a.dup();
                    INDArray b = arrays.get(rnd.nextInt(n));
                    copy.muli(b);
                    update(digest, copy.maxNumber().floatValue());
                    copy.close();
                    break;
                }
                default: // views with an offset (their own buffers over their parents' memory), kept and used later
                    if (views.size() < 8 && rnd.nextInt(3) == 0) {
                        INDArray view = a.get(NDArrayIndex.interval(elements / 2, elements));
                        views.add(view);
                        update(digest, view.sumNumber().floatValue());
                    } else if (!views.isEmpty()) {
                        INDArray view = views.get(rnd.nextInt(views.size()));
                        update(digest, view.getFloat(3L));
                        view.putScalar(5L, r);
                        update(digest, view.sumNumber().floatValue());
                    } else {
                        update(digest, a.meanNumber().floatValue());
                    }
            }
        }
        for (INDArray view : views) {
            update(digest, view.getFloat(5L));
        }
        for (INDArray view : views) { // memory handed out to this code: the parent comes back and stays
            java.nio.FloatBuffer nio = view.data().asNioFloat();
            update(digest, nio.get(nio.limit() - 1));
        }
        for (INDArray a : arrays) {
            update(digest, a.getFloat(elements - 1L));
            update(digest, a.sumNumber().floatValue());
        }
        System.out.println("digest=" + Long.toHexString(digest.getValue()));
        System.out.println("run.ms=" + (System.nanoTime() - t0) / 1_000_000);
        for (INDArray a : arrays) {
            a.close();
        }
        vector.close();
    }

    static void update(CRC32 digest, float f) {
        int bits = Float.floatToIntBits(f);
        digest.update(new byte[]{(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)});
    }
}
