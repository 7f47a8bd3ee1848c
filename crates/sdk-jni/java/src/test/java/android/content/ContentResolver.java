package android.content;

/** Host-JVM stub: only an identity for {@link android.provider.Settings.Secure}. */
public abstract class ContentResolver {
    public ContentResolver(Context context) {
    }
}
