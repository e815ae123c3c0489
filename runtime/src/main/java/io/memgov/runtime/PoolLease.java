package io.memgov.runtime;

/** A pooled entry a storage lives in, given back when the storage goes (see {@link HostPool}). */
final class PoolLease {
    final int kind;
    final Object entry;
    final long size;

    PoolLease(int kind, Object entry, long size) {
        this.kind = kind;
        this.entry = entry;
        this.size = size;
    }
}
