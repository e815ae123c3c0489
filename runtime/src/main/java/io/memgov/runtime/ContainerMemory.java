package io.memgov.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory limit of the container (cgroup) this process runs in, read from the cgroup files: cgroup v2
 * {@code memory.max} first, then cgroup v1 {@code memory.limit_in_bytes}. The process's own cgroup
 * ({@code /proc/self/cgroup}) is found under its mount point ({@code /proc/self/mountinfo}); the lowest
 * limit of that cgroup and its parents up to the mount point is the one that holds. {@code max}, and values
 * of 1 EiB or more (cgroup v1 writes about 2^63 for none), mean no limit. JDK only; never throws.
 *
 * <p>Also {@link #usage()}: the cgroup's current use ({@code memory.current}, {@code memory.usage_in_bytes}),
 * read anew at each call.
 */
public final class ContainerMemory {
    /** At or above this a limit means none (cgroup v1 writes LONG_MAX rounded down to a page for none). */
    static final long HUGE = 1L << 60;

    private static final ContainerMemory NONE = new ContainerMemory(-1, "none", null, null);

    private final long limit;
    private final String version;
    private final Path limitFile;
    private final Path usageFile;

    private ContainerMemory(long limit, String version, Path limitFile, Path usageFile) {
        this.limit = limit;
        this.version = version;
        this.limitFile = limitFile;
        this.usageFile = usageFile;
    }

    /** This process's container memory, read from the real /proc and /sys/fs/cgroup. */
    public static ContainerMemory detect() {
        return read(Paths.get("/"));
    }

    /**
     * Reads under {@code root} as if it were {@code /}: {@code root/proc/self/mountinfo},
     * {@code root/proc/self/cgroup}, and the cgroup mount points below {@code root} (tests use a temp dir).
     */
    public static ContainerMemory read(Path root) {
        try {
            List<String> mountinfo = lines(root.resolve("proc/self/mountinfo"));
            List<String> cgroups = lines(root.resolve("proc/self/cgroup"));
            String v2Path = null;
            String v1Path = null;
            for (String l : cgroups) {
                // hierarchy-ID:controller-list:cgroup-path
                int a = l.indexOf(':');
                int b = a < 0 ? -1 : l.indexOf(':', a + 1);
                if (b < 0) {
                    continue;
                }
                String controllers = l.substring(a + 1, b);
                String path = l.substring(b + 1);
                if (l.substring(0, a).equals("0") && controllers.isEmpty()) {
                    v2Path = path;
                } else {
                    for (String c : controllers.split(",")) {
                        if (c.equals("memory")) {
                            v1Path = path;
                        }
                    }
                }
            }
            Path v2Mount = null;
            String v2Root = "/";
            Path v1Mount = null;
            String v1Root = "/";
            for (String l : mountinfo) {
                // id parent major:minor root mount-point options ... - fstype source super-options
                int dash = l.indexOf(" - ");
                if (dash < 0) {
                    continue;
                }
                String[] left = l.substring(0, dash).split(" ");
                String[] right = l.substring(dash + 3).split(" ");
                if (left.length < 5 || right.length < 1) {
                    continue;
                }
                String fs = right[0];
                if (fs.equals("cgroup2") && v2Mount == null) {
                    v2Mount = under(root, unescape(left[4]));
                    v2Root = unescape(left[3]);
                } else if (fs.equals("cgroup") && v1Mount == null && right.length >= 3
                        && (("," + right[2] + ",").contains(",memory,"))) {
                    v1Mount = under(root, unescape(left[4]));
                    v1Root = unescape(left[3]);
                }
            }
            if (mountinfo.isEmpty()) { // no mountinfo: the usual places
                v2Mount = root.resolve("sys/fs/cgroup");
                v1Mount = root.resolve("sys/fs/cgroup/memory");
            }
            ContainerMemory v2 = v2Mount == null ? null
                    : lowest(v2Mount, dirOf(v2Mount, v2Root, v2Path), "memory.max", "memory.current", "v2");
            if (v2 != null && v2.limit >= 0) {
                return v2;
            }
            ContainerMemory v1 = v1Mount == null ? null
                    : lowest(v1Mount, dirOf(v1Mount, v1Root, v1Path), "memory.limit_in_bytes", "memory.usage_in_bytes", "v1");
            if (v1 != null && v1.limit >= 0) {
                return v1;
            }
            if (v2 != null) {
                return v2; // no limit, but a usage file to read
            }
            return v1 != null ? v1 : NONE;
        } catch (RuntimeException e) {
            return NONE;
        }
    }

    /** The bytes of the limit; -1 when there is none (no cgroup, no memory controller, max, huge). */
    public long limit() {
        return limit;
    }

    public boolean hasLimit() {
        return limit >= 0;
    }

    /** {@code v2}, {@code v1}, or {@code none} when no cgroup memory files were found. */
    public String version() {
        return version;
    }

    /** The file that holds the limit, or null when there is no limit. */
    public Path limitFile() {
        return limitFile;
    }

    /** A short description of where the limit comes from, e.g. {@code cgroup v2 /sys/fs/cgroup/memory.max}. */
    public String source() {
        return limitFile == null ? "none" : "cgroup " + version + " " + limitFile;
    }

    /** The cgroup's memory use now (page cache included, as the kernel counts it), or -1 when unknown. */
    public long usage() {
        if (usageFile == null) {
            return -1;
        }
        long v = number(usageFile);
        return v < 0 ? -1 : v;
    }

    // ---------------------------------------------------------------- reading

    /** The lowest limit of {@code dir} and its parents up to {@code mount}; limit -1 when none has one. */
    private static ContainerMemory lowest(Path mount, Path dir, String limitName, String usageName, String version) {
        long best = -1;
        Path bestFile = null;
        Path usage = null;
        Path d = dir;
        while (d != null && d.startsWith(mount)) {
            Path f = d.resolve(limitName);
            if (usage == null && Files.isReadable(d.resolve(usageName))) {
                usage = d.resolve(usageName);
            }
            if (Files.isReadable(f)) {
                long v = number(f);
                if (v >= 0 && v < HUGE && (best < 0 || v < best)) {
                    best = v;
                    bestFile = f;
                }
            }
            if (d.equals(mount)) {
                break;
            }
            d = d.getParent();
        }
        if (bestFile == null && usage == null && !Files.isReadable(dir.resolve(limitName))
                && !Files.isReadable(mount.resolve(limitName))) {
            return null; // not this version's files (e.g. cgroup2 mounted without the memory controller)
        }
        return new ContainerMemory(best, version, bestFile, usage);
    }

    /** The process's cgroup directory under a mount: the cgroup path less the mount's root; the mount when absent. */
    private static Path dirOf(Path mount, String mountRoot, String cgroupPath) {
        if (cgroupPath == null) {
            return mount;
        }
        String rel = cgroupPath;
        if (!mountRoot.equals("/") && rel.startsWith(mountRoot)) {
            rel = rel.substring(mountRoot.length());
        }
        while (rel.startsWith("/")) {
            rel = rel.substring(1);
        }
        Path d = rel.isEmpty() ? mount : mount.resolve(rel).normalize();
        return Files.isDirectory(d) && d.startsWith(mount) ? d : mount;
    }

    /** A number in a cgroup file: bytes, or -1 for {@code max} (none), -2 when unreadable. */
    static long number(Path f) {
        try {
            String s = new String(Files.readAllBytes(f), StandardCharsets.US_ASCII).trim();
            if (s.equals("max")) {
                return -1;
            }
            return Long.parseLong(s);
        } catch (IOException | RuntimeException e) {
            return -2;
        }
    }

    private static List<String> lines(Path p) {
        try {
            return Files.readAllLines(p, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return new ArrayList<>();
        }
    }

    private static Path under(Path root, String absolute) {
        String rel = absolute;
        while (rel.startsWith("/")) {
            rel = rel.substring(1);
        }
        return rel.isEmpty() ? root : root.resolve(rel);
    }

    /** mountinfo escapes space, tab, newline and backslash as octal {@code \040}. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (RuntimeException e) {
                    // not an escape
                }
            }
            b.append(c);
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return hasLimit() ? limit + " bytes (" + source() + ")" : "no container memory limit (" + version + ")";
    }
}
