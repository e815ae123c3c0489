package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fake /proc and /sys/fs/cgroup trees in a temp dir, laid out as the kernel does. */
class ContainerMemoryTest {
    @TempDir
    Path root;

    private void write(String rel, String text) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.write(p, text.getBytes(StandardCharsets.US_ASCII));
    }

    private static final String V2_MOUNT =
            "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
    private static final String V1_MOUNT =
            "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
                    + "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";

    @Test
    void cgroupV2ContainerSeesItsLimitAtTheMountRoot() throws IOException {
        write("proc/self/mountinfo", V2_MOUNT);
        write("proc/self/cgroup", "0::/\n");
        write("sys/fs/cgroup/memory.max", "1073741824\n");
        write("sys/fs/cgroup/memory.current", "52428800\n");
        ContainerMemory c = ContainerMemory.read(root);
        assertTrue(c.hasLimit());
        assertEquals(1L << 30, c.limit());
        assertEquals("v2", c.version());
        assertEquals(root.resolve("sys/fs/cgroup/memory.max"), c.limitFile());
        assertEquals(52428800L, c.usage());
    }

    @Test
    void cgroupV2NestedCgroupTakesTheLowestLimitOfItselfAndItsParents() throws IOException {
        write("proc/self/mountinfo", V2_MOUNT);
        write("proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
        write("sys/fs/cgroup/memory.max", "max\n");
        write("sys/fs/cgroup/kubepods/memory.max", "8589934592\n");
        write("sys/fs/cgroup/kubepods/pod1/memory.max", "2147483648\n");
        write("sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "max\n");
        write("sys/fs/cgroup/kubepods/pod1/ctr/memory.current", "1000\n");
        ContainerMemory c = ContainerMemory.read(root);
        assertEquals(2L << 30, c.limit());
        assertEquals(root.resolve("sys/fs/cgroup/kubepods/pod1/memory.max"), c.limitFile());
        assertEquals(1000L, c.usage());
    }

    @Test
    void cgroupV2MaxMeansNoLimit() throws IOException {
        write("proc/self/mountinfo", V2_MOUNT);
        write("proc/self/cgroup", "0::/\n");
        write("sys/fs/cgroup/memory.max", "max\n");
        ContainerMemory c = ContainerMemory.read(root);
        assertFalse(c.hasLimit());
        assertEquals(-1, c.limit());
        assertEquals("none", c.source());
    }

    @Test
    void cgroupV1LimitWhenV2HasNoMemoryController() throws IOException {
        // a hybrid host: cgroup2 mounted (unified) without the memory controller, memory on cgroup v1
        write("proc/self/mountinfo", "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n" + V1_MOUNT);
        write("proc/self/cgroup", "4:memory:/yarn/container_01\n1:cpu:/\n0::/\n");
        write("sys/fs/cgroup/unified/cgroup.procs", "1\n");
        write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
        write("sys/fs/cgroup/memory/yarn/memory.limit_in_bytes", "9223372036854771712\n");
        write("sys/fs/cgroup/memory/yarn/container_01/memory.limit_in_bytes", "805306368\n");
        write("sys/fs/cgroup/memory/yarn/container_01/memory.usage_in_bytes", "4096\n");
        ContainerMemory c = ContainerMemory.read(root);
        assertEquals(768L << 20, c.limit());
        assertEquals("v1", c.version());
        assertEquals("cgroup v1 " + root.resolve("sys/fs/cgroup/memory/yarn/container_01/memory.limit_in_bytes"), c.source());
        assertEquals(4096L, c.usage());
    }

    @Test
    void cgroupV1HugeValueMeansNoLimit() throws IOException {
        write("proc/self/mountinfo", V1_MOUNT);
        write("proc/self/cgroup", "4:memory:/\n");
        write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
        ContainerMemory c = ContainerMemory.read(root);
        assertFalse(c.hasLimit());
    }

    @Test
    void containerWithMountRootSeesItsOwnCgroupAtTheMountPoint() throws IOException {
        // cgroup v1 in a container without a cgroup namespace: the mount's root is the container's cgroup
        write("proc/self/mountinfo", "35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro,relatime - cgroup cgroup rw,memory\n");
        write("proc/self/cgroup", "4:memory:/docker/abc\n");
        write("sys/fs/cgroup/memory/memory.limit_in_bytes", "536870912\n");
        assertEquals(512L << 20, ContainerMemory.read(root).limit());
    }

    @Test
    void noCgroupFilesMeansNoLimit() {
        ContainerMemory c = ContainerMemory.read(root);
        assertFalse(c.hasLimit());
        assertEquals(-1, c.usage());
    }

    @Test
    void withoutMountinfoTheUsualPlacesAreRead() throws IOException {
        write("proc/self/cgroup", "0::/\n");
        write("sys/fs/cgroup/memory.max", "268435456\n");
        assertEquals(256L << 20, ContainerMemory.read(root).limit());
    }
}
