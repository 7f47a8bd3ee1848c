package com.renlian.sdk;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** The licence in force, for the app to show ({@link FaceSdk#licence()}). */
public final class LicenceInfo {
    private final String id;
    private final String sdk;
    private final String kind;
    private final List<String> features;
    private final Long expires;
    private final boolean expiring;
    private final Integer daysLeft;

    LicenceInfo(String[] f) {
        if (f.length != 7) {
            throw new IllegalStateException("native licence returned " + f.length + " fields");
        }
        id = f[0];
        sdk = f[1];
        kind = f[2];
        features = f[3].isEmpty() ? Collections.<String>emptyList()
                : Collections.unmodifiableList(Arrays.asList(f[3].split(",")));
        expires = f[4].isEmpty() ? null : Long.valueOf(f[4]);
        expiring = "expiring".equals(f[5]);
        daysLeft = f[6].isEmpty() ? null : Integer.valueOf(f[6]);
    }

    public String getId() {
        return id;
    }

    /** The SDK product, e.g. {@code "ir-liveness-search"}. */
    public String getSdk() {
        return sdk;
    }

    /** {@code "device"}, {@code "platform"}, {@code "trial"}, ... */
    public String getKind() {
        return kind;
    }

    /** The features granted, e.g. {@code ["detect", "features", "search"]}. */
    public List<String> getFeatures() {
        return features;
    }

    /** Expiry in Unix seconds; {@code null} for a permanent licence. */
    public Long getExpires() {
        return expires;
    }

    /** Whether the licence expires within 30 days. */
    public boolean isExpiring() {
        return expiring;
    }

    /** Whole days left; {@code null} for a permanent licence. */
    public Integer getDaysLeft() {
        return daysLeft;
    }
}
