package android.content.pm;

/** Host-JVM stub of the Android class: the fields the SDK reads. */
public class PackageInfo {
    public String packageName;
    /** @deprecated since API 28, as on Android. */
    @Deprecated
    public Signature[] signatures;
    public SigningInfo signingInfo;

    public PackageInfo() {
    }
}
