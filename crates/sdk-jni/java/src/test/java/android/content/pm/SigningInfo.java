package android.content.pm;

/** Host-JVM stub of the Android class (API 28). */
public final class SigningInfo {
    private final Signature[] signers;

    public SigningInfo() {
        this(new Signature[0]);
    }

    /** Stub only (the platform builds it from the APK): the signers the test sets. */
    public SigningInfo(Signature[] signers) {
        this.signers = signers.clone();
    }

    public boolean hasMultipleSigners() {
        return signers.length > 1;
    }

    public boolean hasPastSigningCertificates() {
        return false;
    }

    public Signature[] getSigningCertificateHistory() {
        return hasMultipleSigners() ? null : signers.clone();
    }

    public Signature[] getApkContentsSigners() {
        return signers.clone();
    }
}
