package io.memgov.bench; public final class Compare { public static void main(String[] a) {} }
