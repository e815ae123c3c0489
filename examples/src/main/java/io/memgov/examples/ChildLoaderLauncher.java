package io.memgov.examples;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a main class from jars that are not on the JVM's class path, in a child class loader of its
 * own (as Spark executors, Tomcat web apps and fat-jar launchers do).
 * Args: jar-or-dir[:jar-or-dir...] main-class [args...]
 */
public final class ChildLoaderLauncher {
    private ChildLoaderLauncher() {
    }

    public static void main(String[] args) throws Exception {
        List<URL> urls = new ArrayList<>();
        for (String p : args[0].split(File.pathSeparator)) {
            File f = new File(p);
            if (f.isDirectory() && !new File(f, "META-INF").exists() && f.listFiles() != null
                    && f.listFiles((d, n) -> n.endsWith(".jar")).length > 0) {
                for (File j : f.listFiles((d, n) -> n.endsWith(".jar"))) {
                    urls.add(j.toURI().toURL());
                }
            } else {
                urls.add(f.toURI().toURL());
            }
        }
        try (URLClassLoader child = new URLClassLoader("app", urls.toArray(new URL[0]), ClassLoader.getSystemClassLoader())) {
            Thread.currentThread().setContextClassLoader(child);
            Class<?> main = Class.forName(args[1], true, child);
            System.out.println("loaded " + main.getName() + " in " + main.getClassLoader().getName());
            String[] rest = new String[args.length - 2];
            System.arraycopy(args, 2, rest, 0, rest.length);
            main.getMethod("main", String[].class).invoke(null, (Object) rest);
        }
    }
}
