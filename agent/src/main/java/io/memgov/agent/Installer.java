package io.memgov.agent;

import io.memgov.agent.djl.DjlBridge;
import io.memgov.agent.nd4j.Nd4jBridge;
import io.memgov.runtime.ContainerMemory;
import io.memgov.runtime.Governor;
import io.memgov.runtime.JvmIdentity;
import io.memgov.runtime.MemoryGovernor;
import io.memgov.runtime.RssWatch;
import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.ConfigProblem;
import io.memgov.runtime.config.LogFileName;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.config.OnLimit;
import io.memgov.runtime.log.EventLog;
import io.memgov.runtime.log.LogSink;
import io.memgov.runtime.log.WriterSink;

import java.io.OutputStreamWriter;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.HashMap;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads the configuration, opens the log, starts the governor and installs the framework bridges. */
public final class Installer {
    private Installer() {
    }

    public static void install(String args, Instrumentation inst, long t0, boolean atStartup) {
        ConfigLoader.Result result = ConfigLoader.fromEnvironment(args).load();
        MemgovConfig config = result.config();
        JvmIdentity identity = JvmIdentity.detect();
        // {pid}, {host}, {executor}, {app}, {role}; a relative path is the working directory's (a Spark executor's own)
        String logFile = LogFileName.expand(config.logFile(), identity.placeholders(ProcessHandle.current().pid()));
        LogSink sink = openSink(logFile);
        EventLog log = new EventLog(sink, config.logFormat(), config.logLevel());

        for (ConfigProblem w : result.warnings()) {
            log.emit(LogLevel.WARN, "config-warning", "key", w.key(), "value", w.value(), "source", w.source(),
                    "message", w.message());
            System.err.println(w.message());
        }
        for (ConfigProblem e : result.errors()) {
            log.emit(LogLevel.ERROR, "config-error", "key", e.key(), "value", e.value(), "source", e.source(),
                    "message", e.message());
            System.err.println(e.message());
        }
        if (result.hasErrors()) {
            if (config.strict() && atStartup) {
                log.close();
                throw new MemgovAgent.StrictExit("memgov: memgov.strict=true and the configuration has "
                        + result.errors().size() + " error(s) (above): the JVM does not start. Fix them, or set"
                        + " memgov.strict=false to run the application ungoverned.");
            }
            String msg = "memgov: the configuration has " + result.errors().size()
                    + " error(s): memgov installs nothing and the application runs ungoverned";
            log.emit(LogLevel.ERROR, "ungoverned", "message", msg);
            System.err.println(msg);
            log.close();
            return;
        }
        if (!config.enabled()) {
            log.emit(LogLevel.INFO, "disabled", "version", AgentVersion.get(), "pid", ProcessHandle.current().pid(),
                    "message", "memgov.enabled=false: the agent is loaded and touches nothing");
            log.close();
            return;
        }

        cleanUpStale(log);
        warnIfSpillDirUnusable(config, log);
        warnIfLimitTiny(config, "memgov.host.limit", config.hostLimit(), log);
        warnIfLimitTiny(config, "memgov.device.limit", config.deviceLimit(), log);
        MemoryGovernor governor = new MemoryGovernor(config, log);
        governor.identity(identity);
        Governor.install(governor);
        openDiagnosticCommands(inst);
        keepReadCodeOutOfC2(log);
        List<String> installed = new ArrayList<>();
        try {
            installed = installBridges(config, governor, inst, atStartup);
        } catch (Throwable t) {
            Governor.install(null);
            String msg = "memgov: could not install the instrumentation (" + t + "); the application runs ungoverned";
            governor.error(msg, t);
            System.err.println(msg);
            log.close();
            if (config.strict() && atStartup) {
                throw new MemgovAgent.StrictExit("memgov: memgov.strict=true: " + msg);
            }
            return;
        }

        // after the application's own shutdown hooks where the JDK allows it: they may still read spilled tensors
        ExitHook.Registration exit = ExitHook.register(inst, () -> {
            try {
                governor.summary();
            } finally {
                try {
                    governor.closeSpills();
                } finally {
                    log.close();
                }
            }
        });
        Observability.install(governor, config, args);
        if (sink instanceof LogbackSink && ((LogbackSink) sink).path() != null) {
            LogbackSink file = (LogbackSink) sink;
            // logrotate: a deleted or renamed log file is opened afresh at its path (one stat a second, off the hot path)
            governor.everySecond(() -> {
                String why = file.reopenIfMoved();
                if (why != null) {
                    log.emit(LogLevel.INFO, "log-reopened", "file", file.path(), "reason", why,
                            "pid", ProcessHandle.current().pid(), "version", AgentVersion.get());
                }
            });
        }
        governor.startBackground(config.reportIntervalMillis());

        Map<String, Object> start = new java.util.LinkedHashMap<>();
        start.put("version", AgentVersion.get());
        start.put("pid", ProcessHandle.current().pid());
        start.putAll(identity.startFields());
        start.put("frameworks", String.join(",", config.frameworks()));
        start.put("bridges", String.join(",", installed));
        start.put("host.limit", config.hostLimit());
        if (config.hostLimitAuto() != null) {
            start.putAll(config.hostLimitAuto().fields());
        }
        ContainerMemory container = ContainerMemory.detect();
        if (container.hasLimit()) {
            governor.everySecond(new RssWatch(governor, container.limit()));
            start.put("container.limit", container.limit());
            start.put("container.limit.file", container.limitFile().toString());
        }
        start.put("device.limit", config.deviceLimit());
        start.put("disk.limit", config.diskLimit());
        start.put("disk.dir", config.diskDir());
        start.put("on-limit", config.onLimit().configName());
        start.put("attach", atStartup ? "premain" : "agentmain");
        start.put("config.file", config.configFile() == null ? "none" : config.configFile());
        start.put("log.file", logFile);
        start.put("sites", config.sites().configName());
        start.put("exit.hook", exit.mechanism);
        start.put("startup.ms", (System.nanoTime() - t0) / 1_000_000);
        log.emit(LogLevel.INFO, "start", start);
        if (!exit.afterApplicationHooks()) {
            String msg = "memgov: could not register the exit work after the application's shutdown hooks ("
                    + exit.problem + "); it runs as an ordinary shutdown hook, so spill files may vanish before"
                    + " the application's own shutdown hooks end";
            log.emit(LogLevel.WARN, "warn", "topic", "exit-hook", "message", msg);
        }
    }

    /**
     * Removes the spill directories and bootstrap jars that memgov JVMs killed without their shutdown
     * (kill -9, a crash) left in java.io.tmpdir; one {@code cleanup} event when it found any. Runs before
     * the governor exists, so before this JVM's first spill.
     */
    static void cleanUpStale(EventLog log) {
        long t0 = System.nanoTime();
        String tmp = System.getProperty("java.io.tmpdir");
        if (tmp == null || tmp.isEmpty()) {
            return;
        }
        StaleCleanup.Result r = StaleCleanup.run(java.nio.file.Paths.get(tmp).toAbsolutePath());
        if (r.any()) {
            log.emit(LogLevel.INFO, "cleanup", "removed.dirs", r.dirs, "removed.files", r.files, "removed.jars", r.jars,
                    "removed.bytes", r.bytes, "kept.dirs", r.kept, "dir", tmp,
                    "removed", r.removed.size() <= 20 ? String.join(",", r.removed)
                            : String.join(",", r.removed.subList(0, 20)) + ",+" + (r.removed.size() - 20) + " more",
                    "micros", (System.nanoTime() - t0) / 1000);
        }
    }

    /**
     * With a HOST limit and on-limit=spill, spill files go to memgov.disk.dir (created on the first
     * spill): say at start, not at the first spill, when it cannot be created or written. Spilling
     * would then give up and allocations over the limit wait, then fail.
     */
    static void warnIfSpillDirUnusable(MemgovConfig config, EventLog log) {
        if (config.hostLimit() < 0 || config.onLimit() != OnLimit.SPILL) {
            return;
        }
        java.nio.file.Path dir = java.nio.file.Paths.get(config.diskDir()).toAbsolutePath();
        java.nio.file.Path existing = dir;
        while (existing != null && !java.nio.file.Files.exists(existing)) {
            existing = existing.getParent();
        }
        String problem = null;
        if (existing == null) {
            problem = "has no existing parent directory";
        } else if (!java.nio.file.Files.isDirectory(existing)) {
            problem = existing.equals(dir) ? "is not a directory" : "is under " + existing + ", which is not a directory";
        } else if (!java.nio.file.Files.isWritable(existing)) {
            problem = existing.equals(dir) ? "is not writable" : "cannot be created: " + existing + " is not writable";
        }
        if (problem != null) {
            String msg = "memgov: memgov.disk.dir=" + config.diskDir() + " (from " + config.sourceOf("memgov.disk.dir").label()
                    + ") " + problem + ": tensors cannot be spilled, so allocations over memgov.host.limit will wait, then fail."
                    + " Set memgov.disk.dir to a writable directory";
            log.emit(LogLevel.WARN, "config-warning", "key", "memgov.disk.dir", "value", config.diskDir(),
                    "source", config.sourceOf("memgov.disk.dir").label(), "message", msg);
            System.err.println(msg);
        }
    }

    /** A limit under this is smaller than most tensors (see {@link #tinyLimitWarning}). */
    static final long TINY_LIMIT = 64 * 1024;

    /**
     * A HOST or DEVICE limit of 0, or under {@link #TINY_LIMIT} (64 KiB: 16384 floats, a 128×128 matrix),
     * is almost always a mistake, such as a size without its suffix ({@code host.limit=512} is 512 bytes):
     * every tensor larger than the limit fails at once. Says so at start (config-warning and stderr); the
     * agent still installs with the limit as given.
     */
    static void warnIfLimitTiny(MemgovConfig config, String key, long limit, EventLog log) {
        String msg = tinyLimitWarning(config, key, limit);
        if (msg != null) {
            log.emit(LogLevel.WARN, "config-warning", "key", key, "value", config.rawValue(key),
                    "source", config.sourceOf(key).label(), "message", msg);
            System.err.println(msg);
        }
    }

    /** The warning for {@code key}={@code limit} (bytes, -1 for none), or null when it is not tiny. */
    static String tinyLimitWarning(MemgovConfig config, String key, long limit) {
        if (limit < 0 || limit >= TINY_LIMIT) {
            return null;
        }
        String raw = config.rawValue(key);
        String rest;
        if (limit == 0) {
            rest = "0 bytes: every tensor allocation fails at once with an OutOfMemoryError (the request alone is"
                    + " larger than the limit), whatever memgov.on-limit says.";
        } else {
            OnLimit p = config.onLimit();
            rest = limit + " bytes, under 64 KiB and smaller than most tensors: every tensor larger than " + limit
                    + " bytes fails at once with an OutOfMemoryError (the request alone is larger than the limit),"
                    + " whatever memgov.on-limit says, and nearly every other allocation "
                    + (p == OnLimit.SPILL ? "spills first" : p == OnLimit.WAIT ? "waits, then fails" : "fails")
                    + " (on-limit=" + p.configName() + ").";
        }
        String bare = raw != null && raw.trim().matches("[0-9]+") && limit > 0
                ? " (a bare number is bytes: did you mean " + raw.trim() + "m?)" : "";
        return "memgov: " + key + "=" + raw + " (from " + config.sourceOf(key).label() + ") is " + rest
                + " Set " + key + " to the memory tensors may use, e.g. 512m, 4g or 25%" + bare + ", or none for no limit";
    }

    static LogSink openSink(String target) {
        try {
            return LogbackSink.open(target);
        } catch (Throwable t) {
            System.err.println("memgov: " + (t.getMessage() == null ? t.toString() : t.getMessage())
                    + "; memgov logs to stderr instead");
            return new WriterSink(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), false);
        }
    }

    /** A HOST (or DEVICE) limit with on-limit=spill: the bridges add the hooks spilling needs. */
    static boolean spillMode(MemgovConfig config) {
        return (config.hostLimit() >= 0 || config.deviceLimit() >= 0) && config.onLimit() == OnLimit.SPILL;
    }

    /** Released buffers are pooled: memgov.pool.enabled and a pool.max above 0. */
    static boolean poolMode(MemgovConfig config) {
        return config.poolEnabled() && config.poolMax() > 0;
    }

    static List<Bridge> bridgesFor(MemgovConfig config) {
        List<Bridge> bridges = new ArrayList<>();
        if (config.frameworks().contains("djl")) {
            bridges.add(new DjlBridge(spillMode(config), poolMode(config)));
        }
        if (config.frameworks().contains("nd4j")) {
            bridges.add(new Nd4jBridge(spillMode(config), poolMode(config)));
        }
        return bridges;
    }

    /**
     * Registers one transformer that looks at nothing but the bridges' few target classes (a set
     * lookup per class the JVM defines) and rewrites those with ASM.
     */
    private static List<String> installBridges(MemgovConfig config, MemoryGovernor governor, Instrumentation inst,
                                               boolean atStartup) throws ReflectiveOperationException {
        List<Bridge> bridges = bridgesFor(config);
        List<String> names = new ArrayList<>();
        if (bridges.isEmpty()) {
            return names;
        }
        Map<String, Bridge> byTarget = new HashMap<>();
        for (Bridge bridge : bridges) {
            names.add(bridge.framework());
            for (String t : bridge.targets()) {
                byTarget.put(t.replace('.', '/'), bridge);
            }
            if (ClassLoader.getSystemResource(bridge.probeClass().replace('.', '/') + ".class") == null) {
                governor.log().emit(LogLevel.INFO, "bridge", "framework", bridge.framework(), "status", "waiting",
                        "message", bridge.probeClass() + " is not on the system class path; " + bridge.framework()
                                + " is instrumented if a class loader defines it later");
            }
            if (!atStartup) {
                for (Class<?> c : inst.getAllLoadedClasses()) {
                    if (bridge.targets().contains(c.getName())) {
                        governor.error(c.getName() + " was loaded before memgov attached; arrays of "
                                + bridge.framework() + " stay ungoverned (attach with -javaagent at start-up instead)", null);
                    }
                }
            }
        }
        HelperInjector helpers = new HelperInjector(inst);
        Bridge.Context ctx = new Bridge.Context() {
            @Override
            public HelperInjector helpers() {
                return helpers;
            }

            @Override
            public void instrumented(String framework, String className) {
                governor.instrumented(framework, className);
            }

            @Override
            public void unknownShape(String framework, String className, String problem) {
                governor.error(framework + " class " + className + " has a shape this memgov does not know ("
                        + problem + "); the " + framework + " bridge is not installed and " + framework
                        + " runs ungoverned", null);
            }

            @Override
            public void error(String message, Throwable t) {
                governor.error(message, t);
            }
        };
        inst.addTransformer(new Transformer(byTarget, ctx), false);
        return names;
    }

    /** Hands each target class to its bridge; any failure leaves the class as it was. */
    static final class Transformer implements ClassFileTransformer {
        private final Map<String, Bridge> byTarget;
        private final Bridge.Context ctx;

        Transformer(Map<String, Bridge> byTarget, Bridge.Context ctx) {
            this.byTarget = byTarget;
            this.ctx = ctx;
        }

        @Override
        public byte[] transform(ClassLoader loader, String className, Class<?> redefined, ProtectionDomain pd,
                                byte[] bytes) {
            Bridge bridge = className == null || redefined != null ? null : byTarget.get(className);
            if (bridge == null) {
                return null;
            }
            String name = className.replace('/', '.');
            try {
                return bridge.transform(loader, name, bytes, pd, ctx);
            } catch (Throwable t) {
                ctx.error("could not instrument " + name + "; " + bridge.framework() + " runs ungoverned for it", t);
                return null;
            }
        }
    }

    /** ASM's readCode stays out of C2 (its 31 MiB compiler arena: {@code JitDirective}); 6-9 ms, once. */
    private static void keepReadCodeOutOfC2(EventLog log) {
        long t0 = System.nanoTime();
        String why = io.memgov.runtime.JitDirective.excludeFromC2(io.memgov.runtime.JitDirective.ASM_READ_CODE);
        long micros = (System.nanoTime() - t0) / 1000;
        if (why == null) {
            log.emit(LogLevel.DEBUG, "jit-directive", "added", true, "match", io.memgov.runtime.JitDirective.ASM_READ_CODE,
                    "c2", "exclude", "micros", micros);
        } else {
            log.emit(LogLevel.DEBUG, "jit-directive", "added", false, "reason", why, "micros", micros);
        }
    }

    /**
     * Opens {@code jdk.management}'s {@code com.sun.management.internal} to the runtime, so that the C
     * heap is trimmed by calling the JVM's diagnostic command directly ({@code NativeHeap}): through
     * the platform MBean server it would create that server (about 100 ms of CPU in the middle of the
     * application's run, which memgov never does). Where this fails, trimming says why at start.
     */
    static void openDiagnosticCommands(Instrumentation inst) {
        try {
            java.util.Optional<Module> mgmt = ModuleLayer.boot().findModule("jdk.management");
            Module runtime = Governor.class.getModule();
            String pkg = "com.sun.management.internal";
            if (mgmt.isPresent() && !mgmt.get().isOpen(pkg, runtime)) {
                inst.redefineModule(mgmt.get(), Set.of(), Map.of(), Map.of(pkg, Set.of(runtime)), Set.of(), Map.of());
            }
        } catch (Throwable t) {
            // NativeHeap finds the package closed and logs native-trim available=false with the reason
        }
    }
}
