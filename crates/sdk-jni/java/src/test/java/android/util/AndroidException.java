package android.util;

/** Host-JVM stub of the Android class. */
public class AndroidException extends Exception {
    private static final long serialVersionUID = 1L;

    public AndroidException() {
    }

    public AndroidException(String name) {
        super(name);
    }
}
