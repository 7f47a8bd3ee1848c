package android.os;

/** Host-JVM stub of the Android class. */
public class Build {
    public static class VERSION {
        /** Not a compile-time constant, as on Android (set with -Dandroid.sdk_int). */
        public static final int SDK_INT = Integer.getInteger("android.sdk_int", 34);
    }

    public static class VERSION_CODES {
        public static final int P = 28;
    }
}
