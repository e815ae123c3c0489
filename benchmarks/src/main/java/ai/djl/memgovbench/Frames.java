package ai.djl.memgovbench;

import io.memgov.runtime.Governor;

/**
 * Stand-in for DJL's frames between an application and the governor (NDArray.add, PtNDArray,
 * JniUtils, the helper): in an {@code ai.djl.} package, so a site walk passes them as it passes DJL's.
 */
public final class Frames {
    private Frames() {
    }

    public static Object allocate(int depth, long bytes) {
        if (depth == 0) {
            return Governor.allocate(Governor.FW_DJL, 0, 0, bytes);
        }
        return allocate(depth - 1, bytes);
    }
}
