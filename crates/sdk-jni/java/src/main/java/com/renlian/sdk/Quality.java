package com.renlian.sdk;

/** The server's quality score of a face, each value 0-100 ({@link FaceSdk#quality}). */
public final class Quality {
    private final int[] v;

    Quality(int[] values) {
        if (values.length != 9) {
            throw new IllegalStateException("native quality returned " + values.length + " values");
        }
        this.v = values;
    }

    /** Overall: sharpness x brightness factor x mean completeness. */
    public int getScore() {
        return v[0];
    }

    /** 0 very blurred ... 100 sharp. */
    public int getSharpness() {
        return v[1];
    }

    /** 0 dark ... 100 bright; 30-70 is normal. */
    public int getBrightness() {
        return v[2];
    }

    /** Share of each region inside the image; 100 = nothing missing. */
    public int getEyebrowCompleteness() {
        return v[3];
    }

    public int getEyeCompleteness() {
        return v[4];
    }

    public int getNoseCompleteness() {
        return v[5];
    }

    public int getCheekCompleteness() {
        return v[6];
    }

    public int getMouthCompleteness() {
        return v[7];
    }

    public int getChinCompleteness() {
        return v[8];
    }

    /** The values in the native layout (score, sharpness, brightness, eyebrow ... chin). */
    public int[] toValues() {
        return v.clone();
    }
}
