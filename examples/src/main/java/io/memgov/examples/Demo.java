package io.memgov.examples; public final class Demo { public static void main(String[] a) {} }
