package android.content.pm;

import android.util.AndroidException;

/** Host-JVM stub of the Android class: the flags and method the SDK uses. */
public abstract class PackageManager {
    /** @deprecated since API 28, as on Android. */
    @Deprecated
    public static final int GET_SIGNATURES = 0x00000040;
    public static final int GET_SIGNING_CERTIFICATES = 0x08000000;

    public abstract PackageInfo getPackageInfo(String packageName, int flags) throws NameNotFoundException;

    public static class NameNotFoundException extends AndroidException {
        private static final long serialVersionUID = 1L;

        public NameNotFoundException() {
        }

        public NameNotFoundException(String name) {
            super(name);
        }
    }
}
