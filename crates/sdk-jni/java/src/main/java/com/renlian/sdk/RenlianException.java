package com.renlian.sdk;

/**
 * An SDK call failed. {@link #getCode()} is the SDK's stable error code (the same number
 * in every binding, listed in docs/sdk.md), {@link #getName()} its name
 * ({@code "LicenceWrongSubject"}, ...), and the message says what happened.
 */
public class RenlianException extends Exception {
    private static final long serialVersionUID = 1L;

    public static final int INVALID_ARGUMENT = 1;
    public static final int LICENCE_INVALID = 2;
    public static final int LICENCE_EXPIRED = 3;
    public static final int LICENCE_WRONG_SUBJECT = 4;
    public static final int FEATURE_NOT_LICENSED = 5;
    public static final int MODEL = 6;
    public static final int IMAGE = 7;
    public static final int NO_FACE = 8;
    public static final int GALLERY = 9;
    public static final int GALLERY_KEY = 10;
    public static final int STORAGE = 11;
    public static final int INTERNAL = 12;

    private final int code;
    private final String name;

    /** Made by the native library with the code it reports. */
    public RenlianException(int code, String name, String message) {
        super(name + " (" + code + "): " + message);
        this.code = code;
        this.name = name;
    }

    /** The stable error code (1-12). */
    public int getCode() {
        return code;
    }

    /** The code's name, e.g. {@code "FeatureNotLicensed"}. */
    public String getName() {
        return name;
    }
}
