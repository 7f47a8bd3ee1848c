package com.renlian.sdk;

import android.content.Context;
import android.content.pm.PackageInfo;
import android.content.pm.PackageManager;
import android.content.pm.Signature;
import android.content.pm.SigningInfo;
import android.os.Build;
import android.provider.Settings;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * What a licence can be bound to, read from the app's {@link Context}: the package name
 * and the SHA-256 of the signing certificate (platform licences, sold per app), and
 * ANDROID_ID (device licences). Nothing is sent anywhere: {@link FaceSdk} hands these to
 * the native licence check on this device.
 */
public final class AndroidIdentity {
    private final String packageName;
    private final String certificateSha256;
    private final String androidId;

    AndroidIdentity(String packageName, String certificateSha256, String androidId) {
        this.packageName = packageName;
        this.certificateSha256 = certificateSha256;
        this.androidId = androidId;
    }

    /** Reads the running app's identity. */
    public static AndroidIdentity read(Context context) {
        return read(context, Build.VERSION.SDK_INT);
    }

    /** {@link #read(Context)} as on API level {@code sdkInt} (tests run both paths). */
    static AndroidIdentity read(Context context, int sdkInt) {
        if (context == null) {
            throw new NullPointerException("context");
        }
        String name = context.getPackageName();
        return new AndroidIdentity(name, certificateSha256(context, name, sdkInt), androidId(context));
    }

    /**
     * The SHA-256 of the certificate the app is signed with, 64 lower-case hex digits.
     * From API 28 the current signer ({@code GET_SIGNING_CERTIFICATES}: after a key
     * rotation, the new certificate); before it, {@code GET_SIGNATURES}. An app signed by
     * several signers is bound by its first.
     */
    @SuppressWarnings("deprecation")
    private static String certificateSha256(Context context, String name, int sdkInt) {
        PackageManager pm = context.getPackageManager();
        Signature[] signers;
        try {
            if (sdkInt >= Build.VERSION_CODES.P) {
                PackageInfo info = pm.getPackageInfo(name, PackageManager.GET_SIGNING_CERTIFICATES);
                SigningInfo signing = info.signingInfo;
                signers = signing == null ? null : signing.getApkContentsSigners();
            } else {
                signers = pm.getPackageInfo(name, PackageManager.GET_SIGNATURES).signatures;
            }
        } catch (PackageManager.NameNotFoundException e) {
            // Not expected for the running app; with no certificate, a licence that names
            // one refuses this app with LicenceWrongSubject, as for any other mismatch.
            return null;
        }
        if (signers == null || signers.length == 0) {
            // No certificate to bind to: a licence that names one refuses this app.
            return null;
        }
        return hex(sha256(signers[0].toByteArray()));
    }

    /** ANDROID_ID, or null where it cannot be read (a device licence then refuses). */
    private static String androidId(Context context) {
        try {
            String id = Settings.Secure.getString(context.getContentResolver(), Settings.Secure.ANDROID_ID);
            return id == null || id.isEmpty() ? null : id;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            // Every Java platform must provide SHA-256.
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder s = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            s.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return s.toString();
    }

    /** The app's package name ({@code Context.getPackageName()}). */
    public String getPackageName() {
        return packageName;
    }

    /**
     * SHA-256 of the app's signing certificate, 64 lower-case hex digits: what a platform
     * licence order names. Null if the package manager reported none.
     */
    public String getCertificateSha256() {
        return certificateSha256;
    }

    /** ANDROID_ID, or null where it could not be read. */
    public String getAndroidId() {
        return androidId;
    }
}
