package io.memgov.runtime.jfr;

import io.memgov.runtime.JfrSink;
import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * The governor's JFR events ({@code io.memgov.Allocation}, {@code io.memgov.Spill},
 * {@code io.memgov.Restore}, {@code io.memgov.LimitReached}). Loaded by the governor's background
 * thread, never on the application's start-up path; each event costs a check of whether it is enabled
 * while no recording asks for it.
 */
public final class JfrEvents implements JfrSink {
    @Name("io.memgov.Allocation")
    @Label("memgov Allocation")
    @Category("memgov")
    @Description("A sampled tensor allocation: about one in 256, and with memgov.sites=sample every one of 16 MiB or more (site: unsampled where no stack was walked)")
    @StackTrace(false)
    static final class Allocation extends Event {
        @Label("Id") long id;
        @Label("Bytes") @DataAmount long bytes;
        @Label("Framework") String framework;
        @Label("Tier") String tier;
        @Label("Site") String site;
    }

    /** A tensor moving between tiers: the fields of a spill and of a restore. */
    abstract static class Move extends Event {
        @Label("Id") long id;
        @Label("Bytes") @DataAmount long bytes;
        @Label("From") String from;
        @Label("To") String to;
        @Label("Microseconds") long micros;

        void emit(long id, long bytes, String from, String to, long micros) {
            if (isEnabled()) {
                this.id = id;
                this.bytes = bytes;
                this.from = from;
                this.to = to;
                this.micros = micros;
                commit();
            }
        }
    }

    @Name("io.memgov.Spill")
    @Label("memgov Spill")
    @Category("memgov")
    @Description("A tensor left a tier (HOST to DISK, or a GPU to HOST)")
    @StackTrace(false)
    static final class Spill extends Move {
    }

    @Name("io.memgov.Restore")
    @Label("memgov Restore")
    @Category("memgov")
    @Description("A spilled tensor came back")
    @StackTrace(false)
    static final class Restore extends Move {
    }

    @Name("io.memgov.LimitReached")
    @Label("memgov Limit Reached")
    @Category("memgov")
    @Description("An allocation met a tier's limit")
    @StackTrace(false)
    static final class LimitReached extends Event {
        @Label("Tier") String tier;
        @Label("Requested") @DataAmount long requested;
        @Label("Used") @DataAmount long used;
        @Label("Limit") @DataAmount long limit;
        @Label("Action") String action;
    }

    @Override
    public void allocation(long id, long bytes, String framework, String tier, String site) {
        Allocation e = new Allocation();
        if (e.isEnabled()) {
            e.id = id;
            e.bytes = bytes;
            e.framework = framework;
            e.tier = tier;
            e.site = site;
            e.commit();
        }
    }

    @Override
    public void spill(long id, long bytes, String from, String to, long micros) {
        new Spill().emit(id, bytes, from, to, micros);
    }

    @Override
    public void restore(long id, long bytes, String from, String to, long micros) {
        new Restore().emit(id, bytes, from, to, micros);
    }

    @Override
    public void limitReached(String tier, long requested, long used, long limit, String action) {
        LimitReached e = new LimitReached();
        if (e.isEnabled()) {
            e.tier = tier;
            e.requested = requested;
            e.used = used;
            e.limit = limit;
            e.action = action;
            e.commit();
        }
    }
}
