package io.memgov.agent;

import java.util.List;

/**
 * One framework's instrumentation: the exact classes it rewrites and how. Framework-typed logic
 * lives in helper classes the bridge defines inside the framework's own class loader; the rewritten
 * framework code only calls them.
 */
public interface Bridge {
    /** The framework's name in the config ({@code memgov.frameworks}) and the log. */
    String framework();

    /** A class of the framework whose presence as a resource tells whether it is on a class path. */
    String probeClass();

    /** The classes this bridge rewrites (binary names); no other class is ever looked at. */
    List<String> targets();

    /**
     * The rewritten bytes of {@code className}, or null to leave it as it is (the bridge has then
     * logged why). Never loads a framework class.
     */
    byte[] transform(ClassLoader loader, String className, byte[] bytes, java.security.ProtectionDomain pd,
                     Context context) throws Exception;

    /** What the installer gives a bridge. */
    interface Context {
        HelperInjector helpers();

        void instrumented(String framework, String className);

        /** The framework's classes do not look like the version this bridge knows: they are left alone. */
        void unknownShape(String framework, String className, String problem);

        void error(String message, Throwable t);
    }
}
