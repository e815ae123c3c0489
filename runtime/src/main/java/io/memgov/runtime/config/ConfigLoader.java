package io.memgov.runtime.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;

/**
 * Loads the configuration from its five sources, highest first: agent options, system properties,
 * environment variables, the config file, defaults. A value from a higher source wins per key; only the
 * effective value of a key is checked. Unknown keys give warnings, bad values and an unreadable config file
 * give errors; a key whose value is bad keeps its default.
 */
public final class ConfigLoader {
    static final String DEFAULT_FILE_NAME = "memgov.properties";
    private static final String ENV_PREFIX = "MEMGOV_";
    private static final String WORKING_DIR_SOURCE = "working directory";

    private final String agentArgs;
    private final Properties systemProperties;
    private final Map<String, String> env;
    private final Path workingDir;
    private final LongSupplier physicalRam;
    private final long pid;
    private final String javaIoTmpdir;
    private java.util.function.Supplier<AutoLimit.Inputs> autoInputs = Keys.THIS_JVM;

    /**
     * Everything the loader reads, injectable for tests.
     *
     * @param agentArgs the -javaagent options, may be null or empty
     * @param systemProperties the system properties (only memgov.* are read)
     * @param env the environment (only MEMGOV_* are read)
     * @param workingDir where relative config paths and the default memgov.properties are looked up; null: none
     * @param physicalRamBytes the physical RAM for percentage sizes; 0 or less when unknown
     * @param pid the process id, for the default disk.dir
     * @param javaIoTmpdir the temp dir, for the default disk.dir
     */
    public ConfigLoader(String agentArgs, Properties systemProperties, Map<String, String> env,
                        Path workingDir, long physicalRamBytes, long pid, String javaIoTmpdir) {
        this(agentArgs, systemProperties, env, workingDir, () -> physicalRamBytes, pid, javaIoTmpdir);
    }

    private ConfigLoader(String agentArgs, Properties systemProperties, Map<String, String> env,
                         Path workingDir, LongSupplier physicalRam, long pid, String javaIoTmpdir) {
        this.agentArgs = agentArgs;
        this.systemProperties = systemProperties == null ? new Properties() : systemProperties;
        this.env = env == null ? Collections.<String, String>emptyMap() : env;
        this.workingDir = workingDir;
        this.physicalRam = physicalRam;
        this.pid = pid;
        this.javaIoTmpdir = javaIoTmpdir;
    }

    /**
     * A loader over this JVM: System.getProperties(), System.getenv(), user.dir, the physical RAM (asked for
     * only when a percentage is used), this process's pid and java.io.tmpdir.
     */
    public static ConfigLoader fromEnvironment(String agentArgs) {
        String userDir = System.getProperty("user.dir");
        Path workingDir = null;
        if (userDir != null) {
            try {
                workingDir = Paths.get(userDir);
            } catch (InvalidPathException e) {
                workingDir = null;
            }
        }
        return new ConfigLoader(agentArgs, System.getProperties(), System.getenv(), workingDir,
                new PhysicalRam(), ProcessHandle.current().pid(), System.getProperty("java.io.tmpdir"));
    }

    private static final PhysicalRam PHYSICAL_RAM = new PhysicalRam();

    /** This machine's physical RAM, asked for once on first use (for percentage sizes in live changes). */
    static LongSupplier physicalRam() {
        return PHYSICAL_RAM;
    }

    /**
     * The facts {@code memgov.host.limit=auto} is computed from (container limit, physical RAM, heap and
     * direct-memory maxima) for this loader, instead of this JVM's (tests). Returns this loader.
     */
    public ConfigLoader autoInputs(AutoLimit.Inputs inputs) {
        this.autoInputs = () -> inputs;
        return this;
    }

    /** The v1 keys in CONTRACT order, plus memgov.config. */
    public static List<String> knownKeys() {
        return Keys.ALL;
    }

    /** Reads every source. Never throws for a bad configuration: the result carries the problems. */
    public Result load() {
        List<ConfigProblem> errors = new ArrayList<>();
        List<ConfigProblem> warnings = new ArrayList<>();

        Map<String, Setting> agent = readAgentOptions(errors, warnings);
        Map<String, Setting> props = readSystemProperties(warnings);
        Map<String, Setting> environment = readEnvironment(warnings);

        Setting configSetting = first(Keys.CONFIG, agent, props, environment, Collections.<String, Setting>emptyMap());
        Map<String, Setting> file = Collections.emptyMap();
        String configFile = null;
        if (configSetting != null) {
            Path path = resolveConfigPath(configSetting, errors);
            if (path != null) {
                file = readConfigFile(path, configSetting.sourceText, fixFor(configSetting), errors, warnings);
                if (file != null) {
                    configFile = path.toString();
                }
            }
        } else if (workingDir != null) {
            Path path = workingDir.resolve(DEFAULT_FILE_NAME).toAbsolutePath().normalize();
            if (Files.exists(path)) {
                file = readConfigFile(path, WORKING_DIR_SOURCE, "fix it or remove it", errors, warnings);
                if (file != null) {
                    configFile = path.toString();
                }
            }
        }
        if (file == null) {
            file = Collections.emptyMap();
        }

        Map<String, Object> values = new HashMap<>();
        Map<String, String> raw = new HashMap<>();
        Map<String, Source> sources = new HashMap<>();
        for (String key : Keys.VALUE_KEYS) {
            Setting s = first(key, agent, props, environment, file);
            if (s != null) {
                try {
                    values.put(key, Keys.parse(key, s.value, physicalRam, autoInputs));
                    raw.put(key, s.value);
                    sources.put(key, s.source);
                    continue;
                } catch (IllegalArgumentException e) {
                    errors.add(new ConfigProblem(true, key, s.value, s.sourceText,
                            "memgov: " + key + "=" + s.value + " (from " + s.sourceText + ") " + e.getMessage()));
                }
            }
            String def = Keys.defaultRaw(key, javaIoTmpdir, pid);
            values.put(key, Keys.parse(key, def, physicalRam));
            raw.put(key, def);
            sources.put(key, Source.DEFAULT);
        }
        raw.put(Keys.CONFIG, configSetting == null ? null : configSetting.value);
        sources.put(Keys.CONFIG, configSetting == null ? Source.DEFAULT : configSetting.source);

        return new Result(new MemgovConfig(values, raw, sources, configFile), errors, warnings);
    }

    // ---------------------------------------------------------------- sources

    private Map<String, Setting> readAgentOptions(List<ConfigProblem> errors, List<ConfigProblem> warnings) {
        Map<String, Setting> out = new LinkedHashMap<>();
        if (agentArgs == null || agentArgs.trim().isEmpty()) {
            return out;
        }
        String label = Source.AGENT_OPTIONS.label();
        String lastKey = null;
        for (String part : agentArgs.split(",", -1)) {
            String p = part.trim();
            if (p.isEmpty()) {
                lastKey = null;
                continue;
            }
            int eq = p.indexOf('=');
            if (eq < 0 && Keys.FRAMEWORKS.equals(lastKey)) {
                // frameworks=djl,nd4j: the list's own commas split it; the rest belongs to the list
                Setting s = out.get(Keys.FRAMEWORKS);
                out.put(Keys.FRAMEWORKS, new Setting(s.value + "," + p, s.source, s.sourceText));
                continue;
            }
            lastKey = null;
            if (eq <= 0) {
                errors.add(new ConfigProblem(true, p, null, label, "memgov: " + p + " (from " + label
                        + ") is not key=value: write the options as key=value pairs separated by commas,"
                        + " e.g. host.limit=4g,log.file=gov.log"));
                continue;
            }
            String k = p.substring(0, eq).trim();
            String v = p.substring(eq + 1).trim();
            String key = k.startsWith(Keys.PREFIX) ? k : Keys.PREFIX + k;
            if (!Keys.isKnown(key)) {
                warnings.add(unknownKey(key, v, label));
                continue;
            }
            out.put(key, new Setting(v, Source.AGENT_OPTIONS, label));
            lastKey = key;
        }
        return out;
    }

    private Map<String, Setting> readSystemProperties(List<ConfigProblem> warnings) {
        Map<String, Setting> out = new LinkedHashMap<>();
        String label = Source.SYSTEM_PROPERTY.label();
        for (String name : new TreeSet<>(systemProperties.stringPropertyNames())) {
            if (!name.startsWith(Keys.PREFIX)) {
                continue;
            }
            String value = systemProperties.getProperty(name);
            if (value == null) {
                continue;
            }
            if (Keys.isKnown(name)) {
                out.put(name, new Setting(value, Source.SYSTEM_PROPERTY, label));
            } else {
                warnings.add(unknownKey(name, value, label));
            }
        }
        return out;
    }

    private Map<String, Setting> readEnvironment(List<ConfigProblem> warnings) {
        Map<String, String> byEnvName = new HashMap<>();
        for (String key : Keys.ALL) {
            byEnvName.put(Keys.envName(key), key);
        }
        Map<String, Setting> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
            String name = e.getKey();
            if (name == null || e.getValue() == null || !name.startsWith(ENV_PREFIX)) {
                continue;
            }
            String sourceText = Source.ENVIRONMENT.label() + " " + name;
            String key = byEnvName.get(name);
            if (key != null) {
                out.put(key, new Setting(e.getValue(), Source.ENVIRONMENT, sourceText));
            } else {
                String suggestion = closest(name.substring(ENV_PREFIX.length()), true);
                warnings.add(new ConfigProblem(false, name, e.getValue(), sourceText,
                        "memgov: unknown environment variable " + name
                                + (suggestion == null ? "" : ": did you mean " + Keys.envName(suggestion)
                                + " (" + suggestion + ")?")));
            }
        }
        return out;
    }

    private Path resolveConfigPath(Setting configSetting, List<ConfigProblem> errors) {
        String value = configSetting.value.trim();
        if (value.isEmpty()) {
            errors.add(new ConfigProblem(true, Keys.CONFIG, configSetting.value, configSetting.sourceText,
                    "memgov: " + Keys.CONFIG + "=" + configSetting.value + " (from " + configSetting.sourceText
                            + ") is empty: use the path of a properties file, or " + fixFor(configSetting)));
            return null;
        }
        try {
            Path p = Paths.get(value);
            if (workingDir != null) {
                p = workingDir.resolve(p);
            }
            return p.toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            errors.add(new ConfigProblem(true, Keys.CONFIG, configSetting.value, configSetting.sourceText,
                    "memgov: config file " + value + " (from " + configSetting.sourceText + ") is not a valid path ("
                            + e.getReason() + "): fix the path or " + removeFor(configSetting)));
            return null;
        }
    }

    /** The settings of a config file, or null (with an error) when it cannot be read. */
    private Map<String, Setting> readConfigFile(Path path, String namedBy, String fix,
                                                List<ConfigProblem> errors, List<ConfigProblem> warnings) {
        String what = "memgov: config file " + path + " (" + (WORKING_DIR_SOURCE.equals(namedBy)
                ? "found in the working directory" : "from " + namedBy) + ") ";
        if (!Files.exists(path)) {
            errors.add(new ConfigProblem(true, Keys.CONFIG, path.toString(), namedBy, what + "does not exist: " + fix));
            return null;
        }
        if (Files.isDirectory(path)) {
            errors.add(new ConfigProblem(true, Keys.CONFIG, path.toString(), namedBy,
                    what + "is a directory, not a properties file: " + fix));
            return null;
        }
        Properties props = new Properties();
        try {
            props.load(reader(Files.readAllBytes(path)));
        } catch (IOException | RuntimeException e) {
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            String problem = e instanceof IOException ? "cannot be read (" : "is not a valid properties file (";
            errors.add(new ConfigProblem(true, Keys.CONFIG, path.toString(), namedBy,
                    what + problem + reason + "): " + fix));
            return null;
        }
        String sourceText = Source.CONFIG_FILE.label() + " " + path;
        Map<String, Setting> out = new LinkedHashMap<>();
        for (String name : new TreeSet<>(props.stringPropertyNames())) {
            String value = props.getProperty(name);
            String k = name.trim();
            String key = k.startsWith(Keys.PREFIX) ? k : Keys.PREFIX + k;
            if (Keys.CONFIG.equals(key)) {
                warnings.add(new ConfigProblem(false, key, value, sourceText, "memgov: " + key + "=" + value
                        + " (from " + sourceText + ") has no effect in a config file: name the config file with"
                        + " the config= agent option, -Dmemgov.config or MEMGOV_CONFIG"));
            } else if (!Keys.isKnown(key)) {
                warnings.add(unknownKey(key, value, sourceText));
            } else {
                out.put(key, new Setting(value, Source.CONFIG_FILE, sourceText));
            }
        }
        return out;
    }

    /** UTF-8 if the bytes are valid UTF-8, else ISO-8859-1 (the classic properties encoding). */
    private static Reader reader(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            return new InputStreamReader(new ByteArrayInputStream(bytes), StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            return new InputStreamReader(new ByteArrayInputStream(bytes), StandardCharsets.ISO_8859_1);
        }
    }

    private static String fixFor(Setting configSetting) {
        return "fix the path or " + removeFor(configSetting);
    }

    private static String removeFor(Setting configSetting) {
        switch (configSetting.source) {
            case AGENT_OPTIONS:
                return "remove the config= agent option";
            case ENVIRONMENT:
                return "unset " + Keys.envName(Keys.CONFIG);
            default:
                return "remove " + Keys.CONFIG;
        }
    }

    @SafeVarargs
    private static Setting first(String key, Map<String, Setting>... sources) {
        for (Map<String, Setting> m : sources) {
            Setting s = m.get(key);
            if (s != null) {
                return s;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- unknown keys

    private static ConfigProblem unknownKey(String key, String value, String sourceText) {
        String suffix = key.startsWith(Keys.PREFIX) ? key.substring(Keys.PREFIX.length()) : key;
        String suggestion = closest(suffix, false);
        return new ConfigProblem(false, key, value, sourceText, "memgov: unknown key " + key + " (from " + sourceText
                + ")" + (suggestion == null ? "" : ": did you mean " + suggestion + "?"));
    }

    /**
     * The known key closest to a key as written (without its memgov. or MEMGOV_ prefix), by Levenshtein
     * distance ignoring case; null when even the closest is more than half the written length away.
     */
    static String closest(String written, boolean envForm) {
        String w = written.toLowerCase(Locale.ROOT);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String key : Keys.ALL) {
            String candidate = envForm
                    ? Keys.envName(key).substring(ENV_PREFIX.length())
                    : key.substring(Keys.PREFIX.length());
            int d = levenshtein(w, candidate.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = key;
            }
        }
        return bestDistance * 2 > w.length() ? null : best;
    }

    static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    // ---------------------------------------------------------------- types

    private static final class Setting {
        final String value;
        final Source source;
        final String sourceText;

        Setting(String value, Source source, String sourceText) {
            this.value = value;
            this.source = source;
            this.sourceText = sourceText;
        }
    }

    /** Physical RAM, asked for once and only when needed (a percentage size). 0 when it cannot be told. */
    private static final class PhysicalRam implements LongSupplier {
        private long bytes = -1;

        @Override
        public synchronized long getAsLong() {
            if (bytes < 0) {
                bytes = 0;
                try {
                    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
                    if (os instanceof com.sun.management.OperatingSystemMXBean) {
                        long total = ((com.sun.management.OperatingSystemMXBean) os).getTotalPhysicalMemorySize();
                        bytes = Math.max(0, total);
                    }
                } catch (RuntimeException | LinkageError e) {
                    bytes = 0;
                }
            }
            return bytes;
        }
    }

    /** What {@link #load()} found. */
    public static final class Result {
        private final MemgovConfig config;
        private final List<ConfigProblem> errors;
        private final List<ConfigProblem> warnings;

        Result(MemgovConfig config, List<ConfigProblem> errors, List<ConfigProblem> warnings) {
            this.config = config;
            this.errors = Collections.unmodifiableList(new ArrayList<>(errors));
            this.warnings = Collections.unmodifiableList(new ArrayList<>(warnings));
        }

        /** Always non-null; a key whose value was bad keeps its default. Check {@link #hasErrors()}. */
        public MemgovConfig config() {
            return config;
        }

        /** Bad values and an unreadable config file, in the order found. */
        public List<ConfigProblem> errors() {
            return errors;
        }

        /** Unknown keys and settings without effect, in the order found. */
        public List<ConfigProblem> warnings() {
            return warnings;
        }

        public boolean hasErrors() {
            return !errors.isEmpty();
        }
    }
}
