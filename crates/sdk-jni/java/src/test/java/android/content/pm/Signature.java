package android.content.pm;

/** Host-JVM stub of the Android class: a certificate's encoded bytes. */
public class Signature {
    private final byte[] signature;

    public Signature(byte[] signature) {
        this.signature = signature.clone();
    }

    public byte[] toByteArray() {
        return signature.clone();
    }
}
