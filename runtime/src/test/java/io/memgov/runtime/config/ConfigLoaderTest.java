package io.memgov.runtime.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigLoaderTest {
    private static final long K = 1024L;
    private static final long M = K * 1024;
    private static final long G = M * 1024;
    private static final long RAM = 16 * G;
    private static final long PID = 4242;
    private static final String TMP = "/var/tmp-test";

    @TempDir
    Path dir;

    private String agentArgs;
    private Properties sys;
    private Map<String, String> env;

    @BeforeEach
    void reset() {
        agentArgs = null;
        sys = new Properties();
        env = new HashMap<>();
    }

    private ConfigLoader.Result load() {
        return new ConfigLoader(agentArgs, sys, env, dir, RAM, PID, TMP).load();
    }

    private MemgovConfig loadOk() {
        ConfigLoader.Result r = load();
        assertEquals(Collections.emptyList(), messages(r.errors()));
        assertEquals(Collections.emptyList(), messages(r.warnings()));
        assertFalse(r.hasErrors());
        return r.config();
    }

    private static List<String> messages(List<ConfigProblem> problems) {
        return problems.stream().map(ConfigProblem::message).collect(Collectors.toList());
    }

    private Path write(String name, String... lines) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.write(p, Arrays.asList(lines), StandardCharsets.UTF_8);
        return p;
    }

    // ------------------------------------------------------------------ defaults and keys

    @Test
    void knownKeysAreTheContractKeysInOrderPlusConfig() {
        assertEquals(Arrays.asList("memgov.enabled", "memgov.frameworks", "memgov.host.limit", "memgov.device.limit",
                "memgov.disk.limit", "memgov.disk.dir", "memgov.on-limit", "memgov.spill.low-watermark",
                "memgov.wait.timeout", "memgov.pool.enabled", "memgov.pool.max", "memgov.log.file", "memgov.log.level",
                "memgov.log.format", "memgov.report.interval", "memgov.strict", "memgov.sites", "memgov.native.trim", "memgov.prefetch",
                "memgov.sites.sample.bytes", "memgov.config"),
                ConfigLoader.knownKeys());
        assertThrows(UnsupportedOperationException.class, () -> ConfigLoader.knownKeys().add("x"));
    }

    @Test
    void nothingSetGivesEveryDefault() {
        MemgovConfig c = loadOk();
        assertTrue(c.enabled());
        assertEquals(new LinkedHashSet<>(Arrays.asList("djl", "nd4j")), c.frameworks());
        assertEquals(Arrays.asList("djl", "nd4j"), Arrays.asList(c.frameworks().toArray()));
        assertEquals(-1, c.hostLimit());
        assertEquals(-1, c.deviceLimit());
        assertEquals(-1, c.diskLimit());
        assertEquals(Paths.get(TMP, "memgov-" + PID).toString(), c.diskDir());
        assertEquals(OnLimit.SPILL, c.onLimit());
        assertEquals(0.8, c.spillLowWatermark());
        assertEquals(10_000, c.waitTimeoutMillis());
        assertTrue(c.poolEnabled());
        assertEquals(256 * M, c.poolMax());
        assertEquals("memgov.log", c.logFile());
        assertEquals(LogLevel.INFO, c.logLevel());
        assertEquals(LogFormat.TEXT, c.logFormat());
        assertEquals(60_000, c.reportIntervalMillis());
        assertFalse(c.strict());
        assertEquals(SiteMode.SAMPLE, c.sites());
        assertEquals(512 * 1024L, c.sitesSampleBytes());
        assertNull(c.configFile());
        for (String key : ConfigLoader.knownKeys()) {
            assertEquals(Source.DEFAULT, c.sourceOf(key), key);
        }
        assertEquals("none", c.rawValue("memgov.host.limit"));
        assertEquals("10s", c.rawValue("memgov.wait.timeout"));
        assertEquals("djl,nd4j", c.rawValue("memgov.frameworks"));
        assertNull(c.rawValue("memgov.config"));
        assertThrows(IllegalArgumentException.class, () -> c.sourceOf("memgov.nope"));
        assertThrows(IllegalArgumentException.class, () -> c.rawValue("memgov.nope"));
    }

    @Test
    void staticDefaultsUseThisProcess() {
        MemgovConfig c = MemgovConfig.defaults();
        assertEquals(Paths.get(System.getProperty("java.io.tmpdir"), "memgov-" + ProcessHandle.current().pid())
                .toString(), c.diskDir());
        assertEquals(-1, c.hostLimit());
        assertEquals(OnLimit.SPILL, c.onLimit());
        assertEquals(Source.DEFAULT, c.sourceOf("memgov.host.limit"));
        assertNull(c.configFile());
    }

    @Test
    void sourceLabelsAndConfigNames() {
        assertEquals("agent options", Source.AGENT_OPTIONS.label());
        assertEquals("system property", Source.SYSTEM_PROPERTY.label());
        assertEquals("environment variable", Source.ENVIRONMENT.label());
        assertEquals("config file", Source.CONFIG_FILE.label());
        assertEquals("default", Source.DEFAULT.label());
        assertEquals("spill", OnLimit.SPILL.configName());
        assertEquals("wait", OnLimit.WAIT.configName());
        assertEquals("fail", OnLimit.FAIL.configName());
    }

    // ------------------------------------------------------------------ every key: good values

    static Stream<Arguments> goodValues() {
        return Stream.of(
                Arguments.of("memgov.enabled", "false", (Function<MemgovConfig, Object>) MemgovConfig::enabled, false),
                Arguments.of("memgov.enabled", "TRUE", (Function<MemgovConfig, Object>) MemgovConfig::enabled, true),
                Arguments.of("memgov.frameworks", "nd4j", (Function<MemgovConfig, Object>) c -> list(c.frameworks()),
                        Arrays.asList("nd4j")),
                Arguments.of("memgov.frameworks", " ND4J , djl ", (Function<MemgovConfig, Object>) c -> list(c.frameworks()),
                        Arrays.asList("nd4j", "djl")),
                Arguments.of("memgov.frameworks", "djl,DJL", (Function<MemgovConfig, Object>) c -> list(c.frameworks()),
                        Arrays.asList("djl")),
                Arguments.of("memgov.host.limit", "0", (Function<MemgovConfig, Object>) MemgovConfig::hostLimit, 0L),
                Arguments.of("memgov.host.limit", "none", (Function<MemgovConfig, Object>) MemgovConfig::hostLimit, -1L),
                Arguments.of("memgov.host.limit", "1.5g", (Function<MemgovConfig, Object>) MemgovConfig::hostLimit, 3 * G / 2),
                Arguments.of("memgov.host.limit", "25%", (Function<MemgovConfig, Object>) MemgovConfig::hostLimit, 4 * G),
                Arguments.of("memgov.host.limit", "4096", (Function<MemgovConfig, Object>) MemgovConfig::hostLimit, 4096L),
                Arguments.of("memgov.device.limit", "8G", (Function<MemgovConfig, Object>) MemgovConfig::deviceLimit, 8 * G),
                Arguments.of("memgov.device.limit", "50%", (Function<MemgovConfig, Object>) MemgovConfig::deviceLimit, 8 * G),
                Arguments.of("memgov.disk.limit", "1t", (Function<MemgovConfig, Object>) MemgovConfig::diskLimit, 1024 * G),
                Arguments.of("memgov.disk.limit", "NONE", (Function<MemgovConfig, Object>) MemgovConfig::diskLimit, -1L),
                Arguments.of("memgov.disk.dir", "/data/spill", (Function<MemgovConfig, Object>) MemgovConfig::diskDir, "/data/spill"),
                Arguments.of("memgov.on-limit", "wait", (Function<MemgovConfig, Object>) MemgovConfig::onLimit, OnLimit.WAIT),
                Arguments.of("memgov.on-limit", "FAIL", (Function<MemgovConfig, Object>) MemgovConfig::onLimit, OnLimit.FAIL),
                Arguments.of("memgov.on-limit", "Spill", (Function<MemgovConfig, Object>) MemgovConfig::onLimit, OnLimit.SPILL),
                Arguments.of("memgov.spill.low-watermark", "0.5", (Function<MemgovConfig, Object>) MemgovConfig::spillLowWatermark, 0.5),
                Arguments.of("memgov.spill.low-watermark", "1", (Function<MemgovConfig, Object>) MemgovConfig::spillLowWatermark, 1.0),
                Arguments.of("memgov.spill.low-watermark", "0.01", (Function<MemgovConfig, Object>) MemgovConfig::spillLowWatermark, 0.01),
                Arguments.of("memgov.spill.low-watermark", ".9", (Function<MemgovConfig, Object>) MemgovConfig::spillLowWatermark, 0.9),
                Arguments.of("memgov.wait.timeout", "250ms", (Function<MemgovConfig, Object>) MemgovConfig::waitTimeoutMillis, 250L),
                Arguments.of("memgov.wait.timeout", "0", (Function<MemgovConfig, Object>) MemgovConfig::waitTimeoutMillis, 0L),
                Arguments.of("memgov.wait.timeout", "5m", (Function<MemgovConfig, Object>) MemgovConfig::waitTimeoutMillis, 300_000L),
                Arguments.of("memgov.wait.timeout", "1.5s", (Function<MemgovConfig, Object>) MemgovConfig::waitTimeoutMillis, 1500L),
                Arguments.of("memgov.pool.enabled", "false", (Function<MemgovConfig, Object>) MemgovConfig::poolEnabled, false),
                Arguments.of("memgov.pool.max", "0", (Function<MemgovConfig, Object>) MemgovConfig::poolMax, 0L),
                Arguments.of("memgov.pool.max", "64m", (Function<MemgovConfig, Object>) MemgovConfig::poolMax, 64 * M),
                Arguments.of("memgov.log.file", "stderr", (Function<MemgovConfig, Object>) MemgovConfig::logFile, "stderr"),
                Arguments.of("memgov.log.file", "logs/gov.log", (Function<MemgovConfig, Object>) MemgovConfig::logFile, "logs/gov.log"),
                Arguments.of("memgov.log.level", "debug", (Function<MemgovConfig, Object>) MemgovConfig::logLevel, LogLevel.DEBUG),
                Arguments.of("memgov.log.level", "OFF", (Function<MemgovConfig, Object>) MemgovConfig::logLevel, LogLevel.OFF),
                Arguments.of("memgov.log.level", "Trace", (Function<MemgovConfig, Object>) MemgovConfig::logLevel, LogLevel.TRACE),
                Arguments.of("memgov.log.format", "json", (Function<MemgovConfig, Object>) MemgovConfig::logFormat, LogFormat.JSON),
                Arguments.of("memgov.log.format", "TEXT", (Function<MemgovConfig, Object>) MemgovConfig::logFormat, LogFormat.TEXT),
                Arguments.of("memgov.report.interval", "0", (Function<MemgovConfig, Object>) MemgovConfig::reportIntervalMillis, 0L),
                Arguments.of("memgov.report.interval", "1h", (Function<MemgovConfig, Object>) MemgovConfig::reportIntervalMillis, 3_600_000L),
                Arguments.of("memgov.report.interval", "30s", (Function<MemgovConfig, Object>) MemgovConfig::reportIntervalMillis, 30_000L),
                Arguments.of("memgov.strict", "true", (Function<MemgovConfig, Object>) MemgovConfig::strict, true),
                Arguments.of("memgov.strict", "False", (Function<MemgovConfig, Object>) MemgovConfig::strict, false),
                Arguments.of("memgov.sites", "all", (Function<MemgovConfig, Object>) MemgovConfig::sites, SiteMode.ALL),
                Arguments.of("memgov.sites", "OFF", (Function<MemgovConfig, Object>) MemgovConfig::sites, SiteMode.OFF),
                Arguments.of("memgov.sites", " sample ", (Function<MemgovConfig, Object>) MemgovConfig::sites, SiteMode.SAMPLE),
                Arguments.of("memgov.sites.sample.bytes", "4m", (Function<MemgovConfig, Object>) MemgovConfig::sitesSampleBytes, 4L << 20));
    }

    private static List<Object> list(java.util.Set<String> s) {
        return Arrays.asList(s.toArray());
    }

    @ParameterizedTest(name = "{0}={1}")
    @MethodSource("goodValues")
    void everyKeyParsesGoodValuesFromASystemProperty(String key, String raw, Function<MemgovConfig, Object> get,
                                                     Object expected) {
        sys.setProperty(key, raw);
        MemgovConfig c = loadOk();
        assertEquals(expected, get.apply(c));
        assertEquals(Source.SYSTEM_PROPERTY, c.sourceOf(key));
        assertEquals(raw, c.rawValue(key));
    }

    // ------------------------------------------------------------------ every key: bad values

    static Stream<Arguments> badValues() {
        String size = "is not a size: use e.g. 512m, 4g, 25% or none";
        String duration = "is not a duration: use e.g. 250ms, 30s, 5m or 1h";
        String bool = "is not a boolean: use true or false";
        String fraction = "is not a fraction: use a number above 0 and at most 1, e.g. 0.8";
        return Stream.of(
                Arguments.of("memgov.enabled", "yes", bool),
                Arguments.of("memgov.frameworks", "djl,pytorch",
                        "names an unknown framework pytorch: use a comma-separated list of djl, nd4j"),
                Arguments.of("memgov.frameworks", "", "names no framework: use a comma-separated list of djl, nd4j (memgov.enabled=false turns memgov off)"),
                Arguments.of("memgov.host.limit", "4gb", size),
                Arguments.of("memgov.host.limit", "-1m",
                        "is not a size: a size cannot be negative; use e.g. 512m, 4g, 25% or none"),
                Arguments.of("memgov.host.limit", "101%",
                        "is not a size: a percentage of physical RAM must be above 0% and at most 100%, e.g. 25%"),
                Arguments.of("memgov.device.limit", "lots", size),
                Arguments.of("memgov.disk.limit", "1.5", size),
                Arguments.of("memgov.disk.dir", " ", "is empty: use a directory path"),
                Arguments.of("memgov.on-limit", "block", "is not one of spill, wait, fail"),
                Arguments.of("memgov.spill.low-watermark", "0", fraction),
                Arguments.of("memgov.spill.low-watermark", "1.01", fraction),
                Arguments.of("memgov.spill.low-watermark", "-0.5", fraction),
                Arguments.of("memgov.spill.low-watermark", "80%", fraction),
                Arguments.of("memgov.spill.low-watermark", "NaN", fraction),
                Arguments.of("memgov.wait.timeout", "10x", duration),
                Arguments.of("memgov.wait.timeout", "1.5ms", duration),
                Arguments.of("memgov.pool.enabled", "1", bool),
                Arguments.of("memgov.pool.max", "256mb", size),
                Arguments.of("memgov.log.file", "", "is empty: use a file path, stderr or stdout"),
                Arguments.of("memgov.log.level", "verbose", "is not one of trace, debug, info, warn, error, off"),
                Arguments.of("memgov.log.format", "xml", "is not one of text, json"),
                Arguments.of("memgov.report.interval", "1d", duration),
                Arguments.of("memgov.strict", "on", bool),
                Arguments.of("memgov.sites", "some", "is not one of sample, all, off"),
                Arguments.of("memgov.sites", "", "is not one of sample, all, off"),
                Arguments.of("memgov.sites.sample.bytes", "0", "is not a size above 0: use e.g. 512k or 4m"),
                Arguments.of("memgov.sites.sample.bytes", "none", "is not a size above 0: use e.g. 512k or 4m"),
                Arguments.of("memgov.sites.sample.bytes", "lots", "is not a size above 0: use e.g. 512k or 4m"));
    }

    @ParameterizedTest(name = "{0}={1}")
    @MethodSource("badValues")
    void everyKeyReportsBadValuesAndKeepsItsDefault(String key, String raw, String expectedForm) {
        sys.setProperty(key, raw);
        ConfigLoader.Result r = load();
        assertTrue(r.hasErrors());
        assertEquals(1, r.errors().size(), messages(r.errors()).toString());
        assertEquals(Collections.emptyList(), r.warnings());
        ConfigProblem p = r.errors().get(0);
        assertTrue(p.isError());
        assertEquals(key, p.key());
        assertEquals(raw, p.value());
        assertEquals("system property", p.source());
        assertEquals("memgov: " + key + "=" + raw + " (from system property) " + expectedForm, p.message());
        // the bad key keeps its default
        MemgovConfig defaults = MemgovConfig.defaults(PID, TMP);
        assertEquals(defaults.rawValue(key), r.config().rawValue(key));
        assertEquals(Source.DEFAULT, r.config().sourceOf(key));
    }

    @Test
    void theContractExampleMessage() {
        sys.setProperty("memgov.host.limit", "4gb");
        ConfigLoader.Result r = load();
        assertEquals(Arrays.asList(
                "memgov: memgov.host.limit=4gb (from system property) is not a size: use e.g. 512m, 4g, 25% or none"),
                messages(r.errors()));
        assertEquals(-1, r.config().hostLimit());
    }

    @Test
    void badValuesFromEverySourceNameTheirSourceInKeyOrder() throws IOException {
        agentArgs = "on-limit=never";
        sys.setProperty("memgov.log.level", "loud");
        env.put("MEMGOV_HOST_LIMIT", "4gb");
        Path file = write("memgov.properties", "wait.timeout=forever");
        ConfigLoader.Result r = load();
        assertEquals(Arrays.asList(
                "memgov: memgov.host.limit=4gb (from environment variable MEMGOV_HOST_LIMIT) is not a size: use e.g."
                        + " 512m, 4g, 25% or none",
                "memgov: memgov.on-limit=never (from agent options) is not one of spill, wait, fail",
                "memgov: memgov.wait.timeout=forever (from config file " + file + ") is not a duration: use e.g."
                        + " 250ms, 30s, 5m or 1h",
                "memgov: memgov.log.level=loud (from system property) is not one of trace, debug, info, warn, error, off"),
                messages(r.errors()));
        assertEquals("environment variable MEMGOV_HOST_LIMIT", r.errors().get(0).source());
        assertEquals("agent options", r.errors().get(1).source());
        assertEquals("config file " + file, r.errors().get(2).source());
        assertEquals("system property", r.errors().get(3).source());
    }

    @Test
    void aBadValueInALowerSourceThatIsOverriddenIsNotAnError() {
        sys.setProperty("memgov.host.limit", "2g");
        env.put("MEMGOV_HOST_LIMIT", "4gb");
        MemgovConfig c = loadOk();
        assertEquals(2 * G, c.hostLimit());
    }

    @Test
    void strictIsParsedLikeAnyBoolean() {
        sys.setProperty("memgov.strict", "TRUE");
        sys.setProperty("memgov.host.limit", "4gb");
        ConfigLoader.Result r = load();
        assertTrue(r.config().strict());
        assertTrue(r.hasErrors());
    }

    @Test
    void percentageIsOfTheGivenPhysicalRamAndUnknownRamIsAnError() {
        sys.setProperty("memgov.host.limit", "25%");
        assertEquals(4 * G, loadOk().hostLimit());
        ConfigLoader.Result r = new ConfigLoader(null, sys, env, dir, 0, PID, TMP).load();
        assertTrue(r.hasErrors());
        assertTrue(r.errors().get(0).message().startsWith(
                "memgov: memgov.host.limit=25% (from system property) is a percentage of physical RAM, but"),
                r.errors().get(0).message());
    }

    // ------------------------------------------------------------------ precedence

    @Test
    void theHighestSourceWinsAndSourceOfSaysWhich() throws IOException {
        write("memgov.properties", "memgov.host.limit=4g");
        env.put("MEMGOV_HOST_LIMIT", "3g");
        sys.setProperty("memgov.host.limit", "2g");
        agentArgs = "host.limit=1g";

        MemgovConfig c = loadOk();
        assertEquals(G, c.hostLimit());
        assertEquals(Source.AGENT_OPTIONS, c.sourceOf("memgov.host.limit"));
        assertEquals("1g", c.rawValue("memgov.host.limit"));

        agentArgs = null;
        c = loadOk();
        assertEquals(2 * G, c.hostLimit());
        assertEquals(Source.SYSTEM_PROPERTY, c.sourceOf("memgov.host.limit"));

        sys.clear();
        c = loadOk();
        assertEquals(3 * G, c.hostLimit());
        assertEquals(Source.ENVIRONMENT, c.sourceOf("memgov.host.limit"));

        env.clear();
        c = loadOk();
        assertEquals(4 * G, c.hostLimit());
        assertEquals(Source.CONFIG_FILE, c.sourceOf("memgov.host.limit"));

        Files.delete(dir.resolve("memgov.properties"));
        c = loadOk();
        assertEquals(-1, c.hostLimit());
        assertEquals(Source.DEFAULT, c.sourceOf("memgov.host.limit"));
    }

    @Test
    void precedenceIsPerKey() throws IOException {
        write("memgov.properties", "host.limit=4g", "device.limit=4g", "disk.limit=4g", "pool.max=4g");
        env.put("MEMGOV_HOST_LIMIT", "3g");
        env.put("MEMGOV_DEVICE_LIMIT", "3g");
        env.put("MEMGOV_DISK_LIMIT", "3g");
        sys.setProperty("memgov.host.limit", "2g");
        sys.setProperty("memgov.device.limit", "2g");
        agentArgs = "memgov.host.limit=1g";
        MemgovConfig c = loadOk();
        assertEquals(G, c.hostLimit());
        assertEquals(2 * G, c.deviceLimit());
        assertEquals(3 * G, c.diskLimit());
        assertEquals(4 * G, c.poolMax());
        assertEquals(Source.AGENT_OPTIONS, c.sourceOf("memgov.host.limit"));
        assertEquals(Source.SYSTEM_PROPERTY, c.sourceOf("memgov.device.limit"));
        assertEquals(Source.ENVIRONMENT, c.sourceOf("memgov.disk.limit"));
        assertEquals(Source.CONFIG_FILE, c.sourceOf("memgov.pool.max"));
        assertEquals(Source.DEFAULT, c.sourceOf("memgov.wait.timeout"));
        assertEquals(dir.resolve("memgov.properties").toAbsolutePath().normalize().toString(), c.configFile());
    }

    // ------------------------------------------------------------------ agent options

    @Test
    void agentOptionsAcceptKeysWithAndWithoutPrefixAndTrimWhitespace() {
        agentArgs = " host.limit = 512m , memgov.log.file=gov.log,log.level= debug ,";
        MemgovConfig c = loadOk();
        assertEquals(512 * M, c.hostLimit());
        assertEquals("gov.log", c.logFile());
        assertEquals(LogLevel.DEBUG, c.logLevel());
        assertEquals(Source.AGENT_OPTIONS, c.sourceOf("memgov.log.file"));
    }

    @Test
    void prefetchIsAutoOnOrOff() {
        MemgovConfig c = loadOk();
        assertTrue(c.prefetch() && !c.prefetchAlways(), "default auto: on, judged by its trial");
        agentArgs = "prefetch=ON";
        c = loadOk();
        assertTrue(c.prefetch() && c.prefetchAlways());
        agentArgs = "prefetch=off";
        c = loadOk();
        assertFalse(c.prefetch() || c.prefetchAlways());
        agentArgs = "prefetch=always";
        ConfigLoader.Result r = load();
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0).message().contains("is not one of auto, on, off"), r.errors().get(0).message());
        assertTrue(r.config().prefetch() && !r.config().prefetchAlways(), "a bad value leaves the default");
    }

    @Test
    void emptyAgentOptionsAreNoOptions() {
        agentArgs = "";
        loadOk();
        agentArgs = "   ";
        loadOk();
    }

    @Test
    void anAgentOptionWithoutEqualsIsAnError() {
        agentArgs = "host.limit=1g,verbose";
        ConfigLoader.Result r = load();
        assertEquals(1, r.errors().size());
        ConfigProblem p = r.errors().get(0);
        assertEquals("verbose", p.key());
        assertNull(p.value());
        assertEquals("agent options", p.source());
        assertTrue(p.message().startsWith("memgov: verbose (from agent options) is not key=value"), p.message());
        assertEquals(G, r.config().hostLimit()); // the good option still counts
    }

    @Test
    void anAgentOptionWithAnEmptyKeyIsAnError() {
        agentArgs = "=1g";
        ConfigLoader.Result r = load();
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0).message().contains("is not key=value"));
    }

    @Test
    void agentOptionValuesMayContainEquals() {
        agentArgs = "log.file=/tmp/a=b.log";
        assertEquals("/tmp/a=b.log", loadOk().logFile());
    }

    @Test
    void theFrameworksListKeepsItsCommasInAgentOptions() {
        agentArgs = "frameworks=nd4j,djl,host.limit=1g";
        MemgovConfig c = loadOk();
        assertEquals(Arrays.asList("nd4j", "djl"), list(c.frameworks()));
        assertEquals("nd4j,djl", c.rawValue("memgov.frameworks"));
        assertEquals(G, c.hostLimit());
    }

    @Test
    void theLastOfARepeatedAgentOptionWins() {
        agentArgs = "host.limit=1g,host.limit=2g";
        assertEquals(2 * G, loadOk().hostLimit());
    }

    // ------------------------------------------------------------------ environment

    @Test
    void environmentVariablesMapToKeys() {
        env.put("MEMGOV_SPILL_LOW_WATERMARK", "0.5");
        env.put("MEMGOV_ON_LIMIT", "fail");
        env.put("MEMGOV_WAIT_TIMEOUT", "2s");
        env.put("MEMGOV_LOG_FORMAT", "json");
        env.put("PATH", "/usr/bin");
        env.put("memgov_host_limit", "1g"); // not upper case: not ours
        MemgovConfig c = loadOk();
        assertEquals(0.5, c.spillLowWatermark());
        assertEquals(OnLimit.FAIL, c.onLimit());
        assertEquals(2000, c.waitTimeoutMillis());
        assertEquals(LogFormat.JSON, c.logFormat());
        assertEquals(-1, c.hostLimit());
        assertEquals(Source.ENVIRONMENT, c.sourceOf("memgov.spill.low-watermark"));
    }

    @Test
    void everyKnownKeyHasAnEnvironmentVariable() {
        for (String key : ConfigLoader.knownKeys()) {
            if (key.equals("memgov.config")) {
                continue;
            }
            String name = key.toUpperCase().replace('.', '_').replace('-', '_');
            reset();
            env.put(name, MemgovConfig.defaults(PID, TMP).rawValue(key));
            MemgovConfig c = loadOk();
            assertEquals(Source.ENVIRONMENT, c.sourceOf(key), name);
        }
    }

    @Test
    void anUnknownEnvironmentVariableIsAWarningWithASuggestion() {
        env.put("MEMGOV_HOST_LIMT", "1g");
        env.put("MEMGOV_BANANA", "1");
        ConfigLoader.Result r = load();
        assertFalse(r.hasErrors());
        assertEquals(Arrays.asList(
                "memgov: unknown environment variable MEMGOV_BANANA",
                "memgov: unknown environment variable MEMGOV_HOST_LIMT: did you mean MEMGOV_HOST_LIMIT"
                        + " (memgov.host.limit)?"),
                messages(r.warnings()));
        assertEquals("MEMGOV_HOST_LIMT", r.warnings().get(1).key());
        assertEquals("environment variable MEMGOV_HOST_LIMT", r.warnings().get(1).source());
        assertFalse(r.warnings().get(1).isError());
    }

    // ------------------------------------------------------------------ unknown keys

    @Test
    void anUnknownSystemPropertyIsAWarningWithTheClosestKey() {
        sys.setProperty("memgov.host.limt", "1g");
        sys.setProperty("other.property", "x"); // not ours
        ConfigLoader.Result r = load();
        assertFalse(r.hasErrors());
        assertEquals(1, r.warnings().size());
        ConfigProblem w = r.warnings().get(0);
        assertFalse(w.isError());
        assertEquals("memgov.host.limt", w.key());
        assertEquals("1g", w.value());
        assertEquals("system property", w.source());
        assertEquals("memgov: unknown key memgov.host.limt (from system property): did you mean memgov.host.limit?",
                w.message());
        assertEquals(-1, r.config().hostLimit());
    }

    @Test
    void anUnknownAgentOptionGetsThePrefix() {
        agentArgs = "log.levl=debug";
        ConfigLoader.Result r = load();
        assertEquals(Arrays.asList(
                "memgov: unknown key memgov.log.levl (from agent options): did you mean memgov.log.level?"),
                messages(r.warnings()));
        assertEquals("memgov.log.levl", r.warnings().get(0).key());
    }

    @Test
    void aFarOffUnknownKeyGetsNoSuggestion() {
        sys.setProperty("memgov.banana", "1");
        ConfigLoader.Result r = load();
        assertEquals(Arrays.asList("memgov: unknown key memgov.banana (from system property)"), messages(r.warnings()));
    }

    @Test
    void suggestionsPickTheClosestKey() {
        assertEquals("memgov.on-limit", ConfigLoader.closest("onlimit", false));
        assertEquals("memgov.on-limit", ConfigLoader.closest("on_limit", false));
        assertEquals("memgov.spill.low-watermark", ConfigLoader.closest("spill.lowwatermark", false));
        assertEquals("memgov.device.limit", ConfigLoader.closest("Device.Limit", false));
        assertEquals("memgov.pool.max", ConfigLoader.closest("pool.maxx", false));
        assertEquals("memgov.config", ConfigLoader.closest("conifg", false));
        assertNull(ConfigLoader.closest("xyz", false));
        assertEquals(3, ConfigLoader.levenshtein("kitten", "sitting"));
        assertEquals(0, ConfigLoader.levenshtein("", ""));
        assertEquals(4, ConfigLoader.levenshtein("", "abcd"));
    }

    // ------------------------------------------------------------------ config file

    @Test
    void theConfigFileLookupOrderIsOptionThenPropertyThenEnvironmentThenWorkingDirectory() throws IOException {
        Path fromOption = write("a/option.properties", "host.limit=1g");
        Path fromProperty = write("b/property.properties", "host.limit=2g");
        Path fromEnv = write("c/env.properties", "host.limit=3g");
        Path inWorkingDir = write("memgov.properties", "host.limit=4g");

        agentArgs = "config=" + fromOption;
        sys.setProperty("memgov.config", fromProperty.toString());
        env.put("MEMGOV_CONFIG", fromEnv.toString());
        MemgovConfig c = loadOk();
        assertEquals(G, c.hostLimit());
        assertEquals(fromOption.toString(), c.configFile());
        assertEquals(Source.AGENT_OPTIONS, c.sourceOf("memgov.config"));
        assertEquals(fromOption.toString(), c.rawValue("memgov.config"));
        assertEquals(Source.CONFIG_FILE, c.sourceOf("memgov.host.limit"));

        agentArgs = null;
        c = loadOk();
        assertEquals(2 * G, c.hostLimit());
        assertEquals(fromProperty.toString(), c.configFile());
        assertEquals(Source.SYSTEM_PROPERTY, c.sourceOf("memgov.config"));

        sys.clear();
        c = loadOk();
        assertEquals(3 * G, c.hostLimit());
        assertEquals(fromEnv.toString(), c.configFile());
        assertEquals(Source.ENVIRONMENT, c.sourceOf("memgov.config"));

        env.clear();
        c = loadOk();
        assertEquals(4 * G, c.hostLimit());
        assertEquals(inWorkingDir.toString(), c.configFile());
        assertEquals(Source.DEFAULT, c.sourceOf("memgov.config"));
        assertNull(c.rawValue("memgov.config"));
    }

    @Test
    void aNamedConfigFileReplacesTheWorkingDirectoryFile() throws IOException {
        write("memgov.properties", "host.limit=4g", "device.limit=4g");
        Path named = write("named.properties", "host.limit=1g");
        agentArgs = "memgov.config=" + named;
        MemgovConfig c = loadOk();
        assertEquals(G, c.hostLimit());
        assertEquals(-1, c.deviceLimit()); // the working-dir file was not read
    }

    @Test
    void aRelativeConfigPathIsResolvedAgainstTheWorkingDirectory() throws IOException {
        Path file = write("conf/gov.properties", "memgov.pool.max=1m");
        sys.setProperty("memgov.config", "conf/gov.properties");
        MemgovConfig c = loadOk();
        assertEquals(M, c.poolMax());
        assertEquals(file.toAbsolutePath().normalize().toString(), c.configFile());
        assertEquals("conf/gov.properties", c.rawValue("memgov.config"));
    }

    @Test
    void aConfigFileReadsEveryKeyWithOrWithoutPrefix() throws IOException {
        write("memgov.properties",
                "# comment",
                "enabled = false",
                "memgov.frameworks=nd4j",
                "on-limit=wait",
                "memgov.spill.low-watermark=0.6",
                "log.file=stdout",
                "report.interval=5m");
        MemgovConfig c = loadOk();
        assertFalse(c.enabled());
        assertEquals(Arrays.asList("nd4j"), list(c.frameworks()));
        assertEquals(OnLimit.WAIT, c.onLimit());
        assertEquals(0.6, c.spillLowWatermark());
        assertEquals("stdout", c.logFile());
        assertEquals(300_000, c.reportIntervalMillis());
        assertEquals(Source.CONFIG_FILE, c.sourceOf("memgov.enabled"));
    }

    @Test
    void aConfigFileMayBeUtf8() throws IOException {
        write("memgov.properties", "disk.dir=/data/späll");
        assertEquals("/data/späll", loadOk().diskDir());
    }

    @Test
    void anUnknownKeyInTheConfigFileIsAWarning() throws IOException {
        Path file = write("memgov.properties", "host.limt=1g");
        ConfigLoader.Result r = load();
        assertFalse(r.hasErrors());
        assertEquals(Arrays.asList("memgov: unknown key memgov.host.limt (from config file " + file
                + "): did you mean memgov.host.limit?"), messages(r.warnings()));
        assertEquals("config file " + file, r.warnings().get(0).source());
    }

    @Test
    void configInsideAConfigFileHasNoEffect() throws IOException {
        write("other.properties", "host.limit=9g");
        write("memgov.properties", "config=other.properties", "host.limit=1g");
        ConfigLoader.Result r = load();
        assertFalse(r.hasErrors());
        assertEquals(1, r.warnings().size());
        assertTrue(r.warnings().get(0).message().contains("has no effect in a config file"));
        assertEquals(G, r.config().hostLimit());
    }

    @Test
    void aMissingNamedConfigFileIsAnError() {
        Path missing = dir.resolve("x/y.properties");
        sys.setProperty("memgov.config", missing.toString());
        sys.setProperty("memgov.host.limit", "1g");
        ConfigLoader.Result r = load();
        assertEquals(1, r.errors().size());
        ConfigProblem p = r.errors().get(0);
        assertEquals("memgov.config", p.key());
        assertEquals("system property", p.source());
        assertEquals("memgov: config file " + missing + " (from system property) does not exist: fix the path or remove"
                + " memgov.config", p.message());
        assertNull(r.config().configFile());
        assertEquals(G, r.config().hostLimit()); // other sources still count
    }

    @Test
    void aMissingConfigFileNamesTheFixForItsSource() {
        agentArgs = "config=nope.properties";
        assertTrue(load().errors().get(0).message().endsWith(
                " (from agent options) does not exist: fix the path or remove the config= agent option"));
        agentArgs = null;
        env.put("MEMGOV_CONFIG", "nope.properties");
        ConfigProblem p = load().errors().get(0);
        assertEquals("environment variable MEMGOV_CONFIG", p.source());
        assertEquals("memgov: config file " + dir.resolve("nope.properties") + " (from environment variable"
                + " MEMGOV_CONFIG) does not exist: fix the path or unset MEMGOV_CONFIG", p.message());
    }

    @Test
    void aConfigFileThatIsADirectoryOrEmptyIsAnError() throws IOException {
        Files.createDirectories(dir.resolve("conf.d"));
        sys.setProperty("memgov.config", "conf.d");
        ConfigLoader.Result r = load();
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0).message().contains("is a directory"), r.errors().get(0).message());

        sys.setProperty("memgov.config", "");
        r = load();
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0).message().startsWith("memgov: memgov.config= (from system property) is empty"),
                r.errors().get(0).message());
    }

    @Test
    void noWorkingDirectoryFileIsNotAnError() {
        MemgovConfig c = loadOk();
        assertNull(c.configFile());
        // nor is a loader without a working directory
        ConfigLoader.Result r = new ConfigLoader(null, null, null, null, RAM, PID, TMP).load();
        assertFalse(r.hasErrors());
        assertNull(r.config().configFile());
    }

    // ------------------------------------------------------------------ result

    @Test
    void resultListsAreUnmodifiable() {
        sys.setProperty("memgov.host.limit", "4gb");
        ConfigLoader.Result r = load();
        assertThrows(UnsupportedOperationException.class, () -> r.errors().clear());
        assertThrows(UnsupportedOperationException.class, () -> r.warnings().clear());
        assertThrows(UnsupportedOperationException.class, () -> r.config().frameworks().clear());
    }

    @Test
    void fromEnvironmentLoadsThisJvm() {
        String key = "memgov.report.interval";
        String old = System.getProperty(key);
        System.setProperty(key, "7s");
        try {
            ConfigLoader.Result r = ConfigLoader.fromEnvironment("host.limit=1%").load();
            assertNotNull(r.config());
            assertEquals(7000, r.config().reportIntervalMillis());
            assertEquals(Source.SYSTEM_PROPERTY, r.config().sourceOf(key));
            assertTrue(r.config().hostLimit() > 0, "1% of this machine's RAM");
        } finally {
            if (old == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, old);
            }
        }
    }
}
