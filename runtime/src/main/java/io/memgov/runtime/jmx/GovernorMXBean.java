package io.memgov.runtime.jmx;

/**
 * The governor over JMX, registered as {@code io.memgov:type=Governor} in the platform MBean server.
 * Sizes are bytes; a limit of -1 means none. DEVICE figures are summed over GPUs (peak: the highest GPU).
 */
public interface GovernorMXBean {
    long getHostUsed();
    long getHostPeak();
    long getHostLimit();
    long getDeviceUsed();
    long getDevicePeak();
    long getDeviceLimit();
    long getDiskUsed();
    long getDiskPeak();
    long getDiskLimit();
    long getSpills();
    long getRestores();
    long getSpillBytes();
    long getRestoreBytes();
    long getPoolHits();
    long getPoolMisses();
    long getLiveTensors();
    long getAllocations();
    long getReleases();
    long getFailures();
    long getLeaks();
    String getOnLimit();

    /**
     * Sets the limit of {@code tier} ({@code host}, {@code device} or {@code disk}) to {@code size}
     * (the configuration's size syntax: {@code 512m}, {@code 4g}, {@code 25%}, {@code none}).
     *
     * @throws IllegalArgumentException with the message given at start for a bad value, or for an unknown tier
     */
    void setLimit(String tier, String size);

    /** Resets every tier's peak to its current use. */
    void resetPeaks();
}
