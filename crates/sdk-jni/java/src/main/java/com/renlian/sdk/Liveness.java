package com.renlian.sdk;

/** Static single-frame RGB liveness of a face, the server's ({@link FaceSdk#liveness}). */
public final class Liveness {
    /** The recommended threshold: scores at and above it count as a live face. */
    public static final double RECOMMENDED_THRESHOLD = 40.0;

    private final double[] v;

    Liveness(double[] values) {
        if (values.length != 4) {
            throw new IllegalStateException("native liveness returned " + values.length + " values");
        }
        this.v = values;
    }

    /** 0-100, higher: more likely a live face. */
    public double getScore() {
        return v[0];
    }

    /** The combined raw value the score table maps. */
    public double getCombined() {
        return v[1];
    }

    /** The antispoof model's raw output, 0-1. */
    public double getAntispoof() {
        return v[2];
    }

    /** The liveness model's raw output, 0-1. */
    public double getLivenessRaw() {
        return v[3];
    }

    public boolean isLive() {
        return v[0] >= RECOMMENDED_THRESHOLD;
    }

    /** The values in the native layout (score, combined, antispoof, liveness). */
    public double[] toValues() {
        return v.clone();
    }
}
