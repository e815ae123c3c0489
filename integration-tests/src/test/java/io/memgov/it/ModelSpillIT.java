package io.memgov.it;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.memgov.it.MemgovLog.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real models spill: a multi-model inference service ({@code MultiModelInference}: 8 models of
 * biased dense layers, DJL or DL4J, built in code or saved and loaded back) under a HOST limit of a
 * third and a sixth of its weights answers every request as it does without the agent, bit for bit,
 * with {@code host.peak} within the limit: the models' parameters are spilled and restored.
 */
class ModelSpillIT {
    static final String WORKLOAD = "io.memgov.examples.MultiModelInference";

    static String field(Forked run, String key) {
        Matcher m = Pattern.compile(Pattern.quote(key) + "=([0-9a-f]+)").matcher(run.stdout);
        assertTrue(m.find(), key + " missing: " + run);
        return m.group(1);
    }

    @ParameterizedTest(name = "{0} {1} models under 1/3 and 1/6 of their weights")
    @CsvSource({"djl, built", "djl, saved", "dl4j, built", "dl4j, saved"})
    void modelParametersSpillAndEveryAnswerIsTheSame(String framework, String how) throws Exception {
        String[] args = {framework, "8", "2", "60", how, "10"};
        Forked plain = Forked.run(null, List.of(), Forked.examplesClassPath(), WORKLOAD, args);
        assertEquals(0, plain.exitCode, plain.toString());
        long weights = Long.parseLong(field(plain, "weights.bytes"));
        assertTrue(weights > 16L << 20, "8 models of 2 MiB layers: " + plain.stdout);
        for (int part : new int[]{3, 6}) {
            long limit = weights / part;
            Path log = Forked.newLog("models-" + framework + "-" + how + "-" + part);
            Forked governed = Forked.run("log.file=" + log + ",host.limit=" + limit, List.of(),
                    Forked.examplesClassPath(), WORKLOAD, args);
            assertEquals(0, governed.exitCode, governed.toString());
            assertEquals(field(plain, "digest"), field(governed, "digest"),
                    "every answer under 1/" + part + " of the weights equals the ungoverned run's");
            MemgovLog l = MemgovLog.read(log);
            Map<String, String> summary = l.one("summary");
            assertTrue(num(summary, "host.peak") <= limit, "host.peak over the limit: " + summary);
            assertEquals(0, num(summary, "failures"), summary.toString());
            // the weights do not fit: parameters themselves were spilled and restored, again and again
            assertTrue(num(summary, "spill.bytes") >= weights - limit, summary.toString());
            assertTrue(num(summary, "restores") > 0, summary.toString());
            assertTrue(l.all("error").isEmpty(), l.text);
        }
    }
}
