package io.memgov.examples.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * A Spark job (the driver): {@code partitions} partitions, each run by {@link PartitionWork} on an
 * executor with {@code mapPartitions}: DJL inference with small models built in code and ND4J array work,
 * both held at once, so that an executor's working set is several times a small {@code host.limit}.
 * Each partition returns one line with its digest (every output's bits); the driver prints them in
 * partition order, then {@code job.digest} over all of them (less their {@code ms}) and {@code job.ms}, the action's wall time.
 * Results depend on the partition only, never on which executor ran it: a run with memgov on the
 * executors prints the same lines as one without.
 *
 * <p>Args: {@code partitions models layers requests arrays mib} (defaults 4 4 4 200 12 4): per partition
 * {@code models} DJL models of {@code layers} 512x512 layers (1 MiB each), {@code requests} inference
 * requests, each also an ND4J op over one of {@code arrays} arrays of {@code mib} MiB.
 * The master and everything else come from spark-submit ({@code --master}, {@code --conf}).
 */
public final class SparkInference {
    private SparkInference() {
    }

    public static void main(String[] args) {
        int partitions = arg(args, 0, 4);
        int[] work = {arg(args, 1, 4), arg(args, 2, 4), arg(args, 3, 200), arg(args, 4, 12), arg(args, 5, 4)};
        SparkConf conf = new SparkConf().setAppName("memgov-spark-inference");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            List<Integer> ids = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                ids.add(p);
            }
            long t0 = System.nanoTime();
            List<String> lines = new ArrayList<>(sc.parallelize(ids, partitions).mapPartitions(new Work(work)).collect());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            Collections.sort(lines);
            long digest = 17;
            for (String l : lines) {
                System.out.println(l);
                int cut = l.indexOf(" ms=");
                digest = 31 * digest + (cut < 0 ? l : l.substring(0, cut)).hashCode();
            }
            System.out.println("job.digest=" + Long.toHexString(digest) + " partitions=" + lines.size());
            System.out.println("job.ms=" + ms + " app.id=" + sc.sc().applicationId());
        }
    }

    private static int arg(String[] args, int i, int dflt) {
        return args.length > i ? Integer.parseInt(args[i]) : dflt;
    }

    /**
     * What runs on the executors: serialized by the driver, it names {@link PartitionWork} only in its body,
     * so the driver needs neither DJL nor ND4J on its class path.
     */
    static final class Work implements FlatMapFunction<Iterator<Integer>, String> {
        private static final long serialVersionUID = 1L;
        private final int[] work;

        Work(int[] work) {
            this.work = work.clone();
        }

        @Override
        public Iterator<String> call(Iterator<Integer> partition) throws Exception {
            List<String> out = new ArrayList<>();
            while (partition.hasNext()) {
                out.add(PartitionWork.run(partition.next(), work[0], work[1], work[2], work[3], work[4]));
            }
            return out.iterator();
        }
    }
}
