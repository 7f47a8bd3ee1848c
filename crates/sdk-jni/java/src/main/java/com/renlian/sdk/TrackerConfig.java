package com.renlian.sdk;

/** How a {@link Tracker} associates faces across frames. Starts from the SDK's defaults. */
public final class TrackerConfig {
    private final double[] v;

    /** The defaults: IoU 0.3, 3 hits within 1000 ms confirm, lost after 1000 ms, 500 ms prediction. */
    public TrackerConfig() {
        v = Tracker.nativeDefaults();
    }

    /** A detection matches a track's predicted box above this IoU, in [0, 1). */
    public TrackerConfig iouThreshold(float iou) {
        v[0] = iou;
        return this;
    }

    /** Hits that confirm a track (at least 1), within {@code windowMs} of its first. */
    public TrackerConfig confirm(int hits, long windowMs) {
        v[1] = hits;
        v[2] = windowMs;
        return this;
    }

    /** A track not matched for longer than this ends (at least 1 ms). */
    public TrackerConfig maxAgeMs(long ms) {
        v[3] = ms;
        return this;
    }

    /** How far past the last match a track's motion is extrapolated (0: none). */
    public TrackerConfig maxPredictMs(long ms) {
        v[4] = ms;
        return this;
    }

    public float getIouThreshold() {
        return (float) v[0];
    }

    public int getConfirmHits() {
        return (int) v[1];
    }

    public long getConfirmWindowMs() {
        return (long) v[2];
    }

    public long getMaxAgeMs() {
        return (long) v[3];
    }

    public long getMaxPredictMs() {
        return (long) v[4];
    }

    double[] toValues() {
        return v.clone();
    }
}
