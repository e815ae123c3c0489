package io.memgov.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Allocation sites, interned: a site is the first stack frame of the allocating thread outside the
 * JDK, the frameworks (DJL, ND4J, DL4J, JavaCPP) and memgov itself, written
 * {@code class.method(File.java:line)}. Each distinct site gets a small int id, so a {@link Tracked}
 * carries an int, not a string. The table holds at most {@link #MAX} sites; later new sites share
 * the id {@link #OTHER}.
 */
public final class Sites {
    /**
     * No stack was walked for this allocation (memgov.sites=sample did not sample it, or sites are off).
     * Never a site in the lists: the sampled allocations' weights stand for the others.
     */
    public static final int UNSAMPLED = 0;
    /** The stack had no frame outside the JDK, the frameworks and memgov within {@link #MAX_DEPTH} frames. */
    public static final int UNKNOWN = 1;
    /** The table was full: a site first seen after {@link #MAX} distinct sites. */
    public static final int OTHER = 2;
    public static final int MAX = 4096;
    /** Frames looked at per walk. */
    static final int MAX_DEPTH = 128;

    private static final String[] SKIPPED = {
        "java.", "javax.", "jdk.", "sun.", "com.sun.",
        "ai.djl.", "org.nd4j.", "org.deeplearning4j.", "org.bytedeco.", "org.datavec.",
        "io.memgov.runtime.", "io.memgov.agent.", "io.memgov.shaded.",
    };

    private final ConcurrentHashMap<String, Integer> ids = new ConcurrentHashMap<>();
    private final String[] names = new String[MAX];
    private int size;
    /** Estimated bytes committed per site (sampled allocations, each with its weight). */
    private final AtomicLongArray allocated = new AtomicLongArray(MAX);
    private final StackWalker walker = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

    public Sites() {
        intern("unsampled");
        intern("unknown");
        intern("other");
    }

    /** True for a class whose frames are never a site. */
    static boolean skipped(String className) {
        for (String p : SKIPPED) {
            if (className.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    /** Finds the first frame that is a site, by the stream's iterator (see {@link #capture}). */
    private final Function<Stream<StackWalker.StackFrame>, StackWalker.StackFrame> firstSite = s -> {
        Iterator<StackWalker.StackFrame> it = s.iterator();
        for (int depth = 0; depth < MAX_DEPTH && it.hasNext(); depth++) {
            StackWalker.StackFrame fr = it.next();
            if (!skipped(fr.getDeclaringClass())) {
                return fr;
            }
        }
        return null;
    };

    /**
     * Walks the calling thread's stack and returns the id of its allocation site. The walk reads the
     * frames through an iterator, not a filter/limit/findFirst pipeline: that pipeline's classes would
     * reach the JDK's shared stream call sites (AbstractPipeline, the sinks) and make them megamorphic
     * for the application's own streams too (DJL's training step runs several).
     */
    public int capture() {
        StackWalker.StackFrame fr = walker.walk(firstSite);
        if (fr == null) {
            return UNKNOWN;
        }
        // a frame is known by its method and bytecode index: its line number (costly to resolve) and
        // its site string are worked out once
        FrameKey key = new FrameKey(fr.getDeclaringClass(), fr.getMethodName(), fr.getByteCodeIndex());
        Integer known = byFrame.get(key);
        if (known != null) {
            return known;
        }
        String file = fr.getFileName();
        int line = fr.getLineNumber();
        int id = intern(fr.getClassName() + "." + fr.getMethodName() + "("
                + (file == null ? "Unknown Source" : line >= 0 ? file + ":" + line : file) + ")");
        if (byFrame.size() < 4 * MAX) {
            byFrame.put(key, id);
        }
        return id;
    }

    /** Classes whose frames are never sites, by class: the prefix test runs once per class. */
    private final ClassValue<Boolean> skippedClass = new ClassValue<Boolean>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            return skipped(type.getName());
        }
    };

    private boolean skipped(Class<?> type) {
        return skippedClass.get(type);
    }

    private final ConcurrentHashMap<FrameKey, Integer> byFrame = new ConcurrentHashMap<>();

    private static final class FrameKey {
        final Class<?> type;
        final String method;
        final int bci;

        FrameKey(Class<?> type, String method, int bci) {
            this.type = type;
            this.method = method;
            this.bci = bci;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof FrameKey)) {
                return false;
            }
            FrameKey k = (FrameKey) o;
            return k.type == type && k.bci == bci && k.method.equals(method);
        }

        @Override
        public int hashCode() {
            return (System.identityHashCode(type) * 31 + method.hashCode()) * 31 + bci;
        }
    }

    /** The id of {@code site}, added to the table if new (or {@link #OTHER} when the table is full). */
    public int intern(String site) {
        Integer id = ids.get(site);
        if (id != null) {
            return id;
        }
        synchronized (this) {
            id = ids.get(site);
            if (id != null) {
                return id;
            }
            if (size == MAX) {
                return OTHER;
            }
            int n = size++;
            names[n] = site;
            ids.put(site, n);
            return n;
        }
    }

    public String name(int id) {
        synchronized (this) {
            return id >= 0 && id < size ? names[id] : "unknown";
        }
    }

    /** Counts {@code bytes} committed at {@code site}. */
    void allocated(int site, long bytes) {
        allocated.addAndGet(site, bytes);
    }

    long allocatedAt(int site) {
        return allocated.get(site);
    }

    int size() {
        synchronized (this) {
            return size;
        }
    }

    /**
     * The top {@code n} of per-site figures as {@code site:value;site:value...}, largest first
     * (ties by site name); entries with a value of 0 are left out. {@code values[id]} is the figure of
     * site id.
     */
    String top(long[] values, int n) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            if (values[i] > 0) {
                order.add(i);
            }
        }
        order.sort((a, b) -> values[a] != values[b] ? Long.compare(values[b], values[a]) : name(a).compareTo(name(b)));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < order.size() && i < n; i++) {
            int id = order.get(i);
            sb.append(i == 0 ? "" : ";").append(name(id)).append(':').append(values[id]);
        }
        return sb.toString();
    }

    /**
     * Estimated allocated bytes per site (see {@link Metrics}: each sampled allocation counts for the bytes
     * it stands for). {@link #UNSAMPLED} is no site and gets 0: there is no remainder bucket.
     * {@code total} (every byte counted) is not needed and kept for callers.
     */
    long[] allocatedBytes(long total) {
        int n = size();
        long[] v = new long[n];
        for (int i = UNSAMPLED + 1; i < n; i++) {
            v[i] = allocated.get(i);
        }
        return v;
    }

    @Override
    public String toString() {
        return "Sites" + Arrays.asList(Arrays.copyOf(names, size()));
    }
}
