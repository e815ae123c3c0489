package io.memgov.agent;

import io.memgov.runtime.spill.SpillStore;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Removes what a memgov JVM that died without running its shutdown (kill -9, a crash, an OOM kill)
 * left in {@code java.io.tmpdir}: its default spill directory {@code memgov-<pid>} and its bootstrap
 * jar {@code memgov-bootstrap-<pid>-<n>.jar}. Only these names, only directly in the temp directory,
 * never through a symbolic link, and only of a pid that is not alive:
 * <ul>
 *   <li>{@code memgov-<pid>}: a real directory (not a link) holding nothing but regular files named
 *   like spill files ({@code spill-<id>-<n>.bin}), or nothing. Anything else in it keeps the whole
 *   directory. The running JVM's own pid counts as dead here: the cleanup runs before this JVM's
 *   governor exists (its directory is made at its first spill), so a {@code memgov-<own pid>} found
 *   then was left by an earlier process with the same pid (a container's pid 1, say).</li>
 *   <li>{@code memgov-bootstrap-<pid>-<n>.jar}: a regular file of a pid that is not alive (never the
 *   running JVM's own).</li>
 *   <li>{@code memgov-bootstrap-<n>.jar}, the older name without a pid: a regular file last modified
 *   more than {@link #OLD_JAR_AGE_MS} (a day) ago; a JVM running that long with an old agent keeps
 *   its open jar on Linux anyway.</li>
 * </ul>
 */
final class StaleCleanup {
    static final long OLD_JAR_AGE_MS = TimeUnit.DAYS.toMillis(1);
    private static final Pattern SPILL_DIR = Pattern.compile("memgov-(\\d{1,18})");
    private static final Pattern JAR = Pattern.compile("memgov-bootstrap-(\\d{1,18})-\\d+\\.jar");
    private static final Pattern OLD_JAR = Pattern.compile("memgov-bootstrap-\\d+\\.jar");

    /** What a cleanup removed and kept. */
    static final class Result {
        int dirs;
        int files;
        int jars;
        long bytes;
        /** Directories named like a dead pid's spill directory that were kept (other content, or an error). */
        int kept;
        final List<String> removed = new ArrayList<>();

        boolean any() {
            return dirs + jars + kept > 0;
        }
    }

    private StaleCleanup() {
    }

    /** Alive: {@code ProcessHandle.of(pid)} is present. */
    static boolean alive(long pid) {
        try {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (RuntimeException e) {
            return true; // cannot tell: keep its files
        }
    }

    static Result run(Path tmpdir) {
        return run(tmpdir, ProcessHandle.current().pid(), StaleCleanup::alive, System.currentTimeMillis());
    }

    /**
     * @param self  the running JVM's pid
     * @param alive whether a pid is alive (never asked about {@code self})
     */
    static Result run(Path tmpdir, long self, LongPredicate alive, long nowMillis) {
        Result r = new Result();
        if (tmpdir == null || !Files.isDirectory(tmpdir, LinkOption.NOFOLLOW_LINKS)) {
            return r;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(tmpdir, "memgov-*")) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                try {
                    Matcher m;
                    if ((m = SPILL_DIR.matcher(name)).matches()) {
                        long pid = Long.parseLong(m.group(1));
                        if (pid == self || !alive.test(pid)) {
                            removeSpillDir(entries, p, r);
                        }
                    } else if ((m = JAR.matcher(name)).matches()) {
                        long pid = Long.parseLong(m.group(1));
                        if (pid != self && !alive.test(pid)) {
                            removeFile(p, r);
                        }
                    } else if (OLD_JAR.matcher(name).matches()) {
                        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                        if (a.isRegularFile() && nowMillis - a.lastModifiedTime().toMillis() > OLD_JAR_AGE_MS) {
                            removeFile(p, r);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // gone meanwhile, not ours to delete, unreadable: leave it
                }
            }
        } catch (IOException | RuntimeException e) {
            // an unreadable temp directory: nothing to clean
        }
        return r;
    }

    private static void removeFile(Path p, Result r) throws IOException {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile()) {
            return;
        }
        Files.delete(p);
        r.jars++;
        r.bytes += a.size();
        r.removed.add(p.toString());
    }

    private static void removeSpillDir(DirectoryStream<Path> parent, Path dir, Result r) throws IOException {
        BasicFileAttributes d = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!d.isDirectory() || d.isSymbolicLink()) {
            return; // a file or a link named like a spill directory: not ours
        }
        if (!(parent instanceof SecureDirectoryStream)) {
            removeSpillDirByPath(dir, r);
            return;
        }
        // relative to open directories (openat): a directory swapped for a link meanwhile is never followed
        SecureDirectoryStream<Path> tmp = (SecureDirectoryStream<Path>) parent;
        Path name = dir.getFileName();
        List<Path> files = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        try (SecureDirectoryStream<Path> sd = tmp.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
            for (Path f : sd) {
                Path fn = f.getFileName();
                BasicFileAttributes a = sd.getFileAttributeView(fn, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                        .readAttributes();
                if (!a.isRegularFile() || !SpillStore.isSpillFileName(fn.toString())) {
                    r.kept++;
                    return; // something memgov does not write: the whole directory stays
                }
                files.add(fn);
                sizes.add(a.size());
            }
            for (int i = 0; i < files.size(); i++) {
                sd.deleteFile(files.get(i));
                r.files++;
                r.bytes += sizes.get(i);
            }
        } catch (IOException e) {
            r.kept++;
            return;
        }
        try {
            tmp.deleteDirectory(name);
        } catch (IOException e) {
            r.kept++;
            return;
        }
        r.dirs++;
        r.removed.add(dir.toString());
    }

    /** The same where the file system has no {@link SecureDirectoryStream}. */
    private static void removeSpillDirByPath(Path dir, Result r) {
        List<Path> files = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path f : entries) {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!a.isRegularFile() || !SpillStore.isSpillFileName(f.getFileName().toString())) {
                    r.kept++;
                    return;
                }
                files.add(f);
                sizes.add(a.size());
            }
            for (int i = 0; i < files.size(); i++) {
                if (Files.deleteIfExists(files.get(i))) {
                    r.files++;
                    r.bytes += sizes.get(i);
                }
            }
            Files.delete(dir);
        } catch (IOException | RuntimeException e) {
            r.kept++;
            return;
        }
        r.dirs++;
        r.removed.add(dir.toString());
    }
}
